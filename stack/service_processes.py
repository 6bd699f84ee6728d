"""The three services as processes (and their replicas), and where clients find them."""

import asyncio
import os
import sys
import urllib.request
from functools import partial

from stack import dev_auth
from stack.kafka_broker import external_kafka
from stack.kafka_nodes import SERVICE_USERS
from stack.layout import KAFKA, REPLICA_PORT_STEP, REPLICAS, ROOT, RUN, SERVICES, Service
from stack.postgres import MIGRATOR, SERVICE_ROLES, external_database, role_dsn
from stack.processes import pid_alive, say, spawn, wait_for


def endpoints() -> dict[str, str]:
    """Where clients find the broker(s), the database and the services (stack.env)."""
    kafka = external_kafka()
    # An existing cluster's security settings come from the caller's environment.
    env = {k: v for k, v in os.environ.items() if k.startswith(("KAFKA_", "TOPIC_"))} if kafka else KAFKA.client_env()
    env["DATABASE_URL"] = external_database() or role_dsn(MIGRATOR)  # the operator's: the migration role
    for svc in SERVICES:
        env[svc.url_var] = f"http://127.0.0.1:{svc.port}"
    return env


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def replicas(svc: Service) -> list[tuple[str, int]]:
    """(process name, port) of each replica: `registration`, `registration-2`, ..."""
    return [
        (svc.name if r == 1 else f"{svc.name}-{r}", svc.port + REPLICA_PORT_STEP * (r - 1))
        for r in range(1, REPLICAS + 1)
    ]


def migrate(service: str) -> str:
    """Its migrations as the migration role, granting the service's role; returns the DSN
    the service runs with. On someone else's database: the caller's DSN for both."""
    from shared import db

    external = external_database()
    directory = ROOT / "services" / service / "migrations"
    if external:
        asyncio.run(db.migrate(external, schema=service, directory=directory))
        return external
    role = SERVICE_ROLES[service]
    asyncio.run(db.migrate(role_dsn(MIGRATOR), schema=service, directory=directory, runtime_roles=[role]))
    return role_dsn(role)


def start_services(env: dict[str, str]) -> None:
    # STACK_SERVICES=awards,reporting starts only those (benchmarks time one service alone).
    wanted = set(filter(None, os.environ.get("STACK_SERVICES", "").split(","))) or {s.name for s in SERVICES}
    # The child sees exactly the stack's Kafka settings, not leftovers of the caller's shell.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "TOPIC_"))}
    started = []
    sign_in = dev_auth.service_env()  # AUTH_* and the sender registry: the caller's, or the development ones
    # The local stack opens aggregate progress (never money) so the dashboard shows the targets
    # before anyone signs in; PUBLIC_PROGRESS=false in the caller's environment closes it.
    sign_in["PUBLIC_PROGRESS"] = os.environ.get("PUBLIC_PROGRESS", "true")
    # On the local SASL stack each service is a Kafka principal of its own (its ACLs:
    # shared/kafka_access.py); the stack.env's principal is the operator's, `ops`.
    own = not external_kafka() and KAFKA.security == "sasl_ssl"
    for svc in SERVICES:
        if svc.name not in wanted:
            continue
        stopped = [(name, port) for name, port in replicas(svc) if not pid_alive(name)]
        dsn = migrate(svc.name) if stopped else ""  # services do not migrate: their roles may not
        for name, port in stopped:
            say(f"starting {name} on :{port}")
            spawn(
                name,
                [sys.executable, "-m", f"services.{svc.name}"],
                {
                    **env,
                    **(KAFKA.client_env(svc.name) if own and svc.name in SERVICE_USERS else {}),
                    **sign_in,
                    "DATABASE_URL": dsn,
                    f"{svc.name.upper()}_PORT": str(port),
                    "HTTP_PORT": str(port),
                },
                base=base,
            )
            started.append((name, port))
    for name, port in started:
        wait_for(f"{name} /readyz", partial(ready, port), 120)


def service_processes() -> list[str]:
    """Every service process this stack has a pid file for, replicas included."""
    names = {s.name for s in SERVICES}
    return sorted(p.stem for p in RUN.glob("*.pid") if p.stem.split("-")[0] in names)
