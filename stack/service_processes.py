"""The three services as processes (and their replicas), and where clients find them."""

import asyncio
import os
import secrets
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from shared.messaging.kafka_settings import KafkaSettings
from stack import netns
from stack.kafka_broker import external_kafka
from stack.kafka_nodes import SERVICE_USERS
from stack.layout import KAFKA, METRICS_TOKEN, REPLICA_PORT_STEP, REPLICAS, ROOT, RUN, SERVICES, Service
from stack.postgres import MIGRATOR, SERVICE_ROLES, external_database, role_dsn, standby_expected
from stack.processes import pid_alive, say, spawn, wait_for


def endpoints() -> dict[str, str]:
    """Where clients find the broker(s), the database and the services (stack.env)."""
    kafka = external_kafka()
    # An existing cluster's security settings come from the caller's environment.
    env = {k: v for k, v in os.environ.items() if k.startswith(("KAFKA_", "TOPIC_"))} if kafka else KAFKA.client_env()
    env["DATABASE_URL"] = external_database() or role_dsn(MIGRATOR)  # the operator's: the migration role
    env["METRICS_TOKEN_FILE"] = os.environ.get("METRICS_TOKEN_FILE") or str(metrics_token())
    for svc in SERVICES:
        env[svc.url_var] = f"http://127.0.0.1:{svc.port}"
    return env


def metrics_token() -> Path:
    """The stack's metrics token, made once (only its owner may read it)."""
    if not METRICS_TOKEN.exists():
        METRICS_TOKEN.parent.mkdir(parents=True, exist_ok=True)
        METRICS_TOKEN.touch(mode=0o600)
        METRICS_TOKEN.write_text(secrets.token_urlsafe(32))
    return METRICS_TOKEN


def ready(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@dataclass(frozen=True)
class Replica:
    name: str  # `registration`, `registration-2`, ...
    port: int
    machine: int | None  # the Kafka node whose namespace it runs in; None: the host

    @property
    def host(self) -> str:
        """Where it listens: loopback on the host, its machine's address in a namespace."""
        return "127.0.0.1" if self.machine is None else KAFKA.host(self.machine)


def replicas(svc: Service) -> list[Replica]:
    return [
        Replica(
            svc.name if r == 1 else f"{svc.name}-{r}", svc.port + REPLICA_PORT_STEP * (r - 1), KAFKA.service_machine(r)
        )
        for r in range(1, REPLICAS + 1)
    ]


def migrate(service: str) -> None:
    """Its migrations as the migration role, granting the service's role (on someone
    else's database: as the caller's DSN)."""
    from shared.process import db

    external = external_database()
    directory = ROOT / "services" / service / "migrations"
    if external:
        asyncio.run(db.migrate(external, schema=service, directory=directory))
    else:
        asyncio.run(
            db.migrate(role_dsn(MIGRATOR), schema=service, directory=directory, runtime_roles=[SERVICE_ROLES[service]])
        )


def service_dsn(service: str, replica: Replica) -> str:
    """The service's own role; from a namespace, PostgreSQL on the bridge address."""
    if external := external_database():
        if replica.machine is not None:
            raise SystemExit("SERVICE_NETNS=1 needs the stack's own PostgreSQL (it listens on the bridge)")
        return external
    return role_dsn(SERVICE_ROLES[service], host=None if replica.machine is None else KAFKA.bridge_address)


def without_dev_sign_in(env: dict[str, str], replica: Replica) -> dict[str, str]:
    """The development sign-in form answers on loopback only: a replica in a namespace
    (listening on its machine's address) runs without it."""
    return env if replica.machine is None else {k: v for k, v in env.items() if not k.startswith("DEV_SIGN_IN_")}


# Where the brokers are and how to reach them: a service of this stack gets this stack's,
# never what the caller's shell holds (another stack's stack.env, say). How a client
# behaves (KAFKA_METADATA_MAX_AGE_MS, KAFKA_SESSION_TIMEOUT_MS) is the caller's to set.
CONNECTION = frozenset(
    {*(name.upper() for name in KafkaSettings.model_fields), "KAFKA_NODES", "KAFKA_SECURITY"}
    | {"TOPIC_REPLICATION_FACTOR", "TOPIC_MIN_INSYNC_REPLICAS"}
)


def without_connection(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k not in CONNECTION}


def start_services(env: dict[str, str]) -> None:
    # STACK_SERVICES=awards,reporting starts only those (benchmarks time one service alone).
    wanted = set(filter(None, os.environ.get("STACK_SERVICES", "").split(","))) or {s.name for s in SERVICES}
    base = without_connection(os.environ)
    from stack import dev_auth  # FastAPI and the sign-in key tools: only when services start

    sign_in = dev_auth.service_env()  # AUTH_* and the sender registry: the caller's, or the development ones
    # The local stack opens aggregate progress (never money) so the dashboard shows the targets
    # before anyone signs in; PUBLIC_PROGRESS=false in the caller's environment closes it.
    sign_in["PUBLIC_PROGRESS"] = os.environ.get("PUBLIC_PROGRESS", "true")
    started = []
    for svc in (s for s in SERVICES if s.name in wanted):
        stopped = [r for r in replicas(svc) if not pid_alive(r.name)]
        if stopped:
            migrate(svc.name)  # services do not migrate: their roles may not
        for replica in stopped:
            say(f"starting {replica.name} on {replica.host}:{replica.port}")
            argv = [sys.executable, "-m", f"services.{svc.name}"]
            spawn(
                replica.name,
                argv if replica.machine is None else netns.wrap(KAFKA, replica.machine, argv),
                {**env, **_replica_env(svc, replica, sign_in)},
                base=without_dev_sign_in(base, replica),
            )
            started.append(replica)
    for replica in started:
        wait_for(f"{replica.name} /readyz", partial(ready, replica.port, replica.host), 120)


def _replica_env(svc: Service, replica: Replica, sign_in: dict[str, str]) -> dict[str, str]:
    """What one process of a service is started with beyond the stack's endpoints. On the
    local SASL stack each service is a Kafka principal of its own (its ACLs:
    shared/messaging/kafka_access.py); the stack.env's principal is the operator's, `ops`."""
    own = not external_kafka() and KAFKA.security == "sasl_ssl" and svc.name in SERVICE_USERS
    return {
        **(KAFKA.client_env(svc.name) if own else {}),
        **without_dev_sign_in(sign_in, replica),
        "DATABASE_URL": service_dsn(svc.name, replica),
        "DATABASE_STANDBY_EXPECTED": str(standby_expected()).lower(),
        f"{svc.name.upper()}_PORT": str(replica.port),
        "HTTP_PORT": str(replica.port),
        "HTTP_HOST": replica.host,
        "KAFKA_GROUP_INSTANCE_ID": replica.name,  # one per process: a restart takes its partitions back
    }


def service_processes() -> list[str]:
    """Every service process this stack has a pid file for, replicas included."""
    names = {s.name for s in SERVICES}
    return sorted(p.stem for p in RUN.glob("*.pid") if p.stem.split("-")[0] in names)
