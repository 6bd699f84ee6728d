"""The local stack without Docker: a real Apache Kafka (KRaft) broker from Maven Central
jars, a real PostgreSQL from Debian's package, and the three services as processes.

    python -m stack.localstack up|down|status|run

`up` is idempotent: it starts only what is not running and records pids under
.local/run/. With KAFKA_BOOTSTRAP_SERVERS or DATABASE_URL set to somewhere else it uses
those instead of starting its own broker or database; addresses that are this stack's
own (a shell that sourced .local/stack.env) still count as local, so a dead broker is
restarted. KAFKA_NODES=3 runs a three-node KRaft cluster, KAFKA_SECURITY=sasl_ssl a
SASL_SSL listener (stack/kafka_nodes.py); SERVICE_REPLICAS=2 runs two of each service.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from stack.kafka_nodes import KafkaLayout, ensure_tls_material

ROOT = Path(__file__).resolve().parent.parent
# STACK_DIR lets the test suite run a second, disposable stack beside a developer's.
LOCAL = Path(os.environ.get("STACK_DIR") or ROOT / ".local").resolve()
RUN = LOCAL / "run"
LOGS = LOCAL / "logs"
KAFKA_LIBS = ROOT / ".local" / "kafka-libs"  # a cache shared by every stack
KAFKA_DIR = LOCAL / "kafka"
PG_DIR = LOCAL / "pg"
STACK_ENV = LOCAL / "stack.env"

KAFKA_PORT = int(os.environ.get("LOCAL_KAFKA_PORT", "19092"))
KAFKA = KafkaLayout.from_env(base_port=KAFKA_PORT, kafka_dir=KAFKA_DIR)
PG_PORT = int(os.environ.get("LOCAL_PG_PORT", "15432"))
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
LOCAL_DATABASE_URL = f"postgresql://xj:xj@127.0.0.1:{PG_PORT}/xj"
PROMETHEUS_PORT = int(os.environ.get("LOCAL_PROMETHEUS_PORT", "9090"))
WITH_PROMETHEUS = os.environ.get("STACK_PROMETHEUS", "1") != "0"  # 0 leaves it out (tests, bench)
REPLICAS = int(os.environ.get("SERVICE_REPLICAS") or "1")
REPLICA_PORT_STEP = 100  # replica r of a service listens on its port + 100 * (r - 1)


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    url_var: str


SERVICES = (
    Service("registration", int(os.environ.get("REGISTRATION_PORT", "8001")), "REGISTRATION_URL"),
    Service("awards", int(os.environ.get("AWARDS_PORT", "8002")), "AWARDS_URL"),
    Service("reporting", int(os.environ.get("REPORTING_PORT", "8000")), "REPORTING_URL"),
)


def say(msg: str) -> None:
    print(f"[stack] {msg}", flush=True)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def wait_for(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise SystemExit(f"[stack] {what} did not come up within {timeout:.0f}s (logs: {LOGS})")


def pid_alive(name: str) -> int | None:
    pid_file = RUN / f"{name}.pid"
    if not pid_file.exists():
        return None
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError, PermissionError):
        return None
    # A zombie or a recycled pid is not our process.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().split()
        if stat[2] == "Z":
            return None
    except OSError:
        return None
    return pid


def spawn(name: str, argv: list[str], env: dict[str, str] | None = None, base: dict[str, str] | None = None) -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    RUN.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**(os.environ if base is None else base), **(env or {})},
        cwd=ROOT,
        start_new_session=True,
    )
    (RUN / f"{name}.pid").write_text(str(proc.pid))
    return proc.pid


# --- Kafka ---------------------------------------------------------------------------


def ensure_kafka_jars() -> None:
    if KAFKA_LIBS.exists() and any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        return
    say("resolving Apache Kafka jars from Maven Central (stack/kafka/pom.xml)")
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={KAFKA_LIBS}",
        ],
        cwd=ROOT / "stack" / "kafka",
        check=True,
    )


def kafka_java(main: str, *args: str, heap: str = "512m", logs: Path = LOGS) -> list[str]:
    return [
        "java",
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={ROOT / 'stack' / 'kafka' / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={logs}",
        "-cp",
        f"{KAFKA_LIBS}/*",
        main,
        *args,
    ]


def kafka_node_running(node: int) -> bool:
    return pid_alive(KAFKA.name(node)) is not None and port_open(KAFKA.port(node))


def start_kafka_node(node: int) -> None:
    """Format the node's storage once (same cluster id for every node), then start it."""
    if kafka_node_running(node):
        return
    props, data = KAFKA.properties_file(node), KAFKA.data_dir(node)
    props.parent.mkdir(parents=True, exist_ok=True)
    props.write_text(KAFKA.properties(node))
    os.chmod(props, 0o600)  # it holds the SCRAM and keystore passwords under SASL_SSL
    if not (data / "meta.properties").exists():
        id_file = KAFKA.root / "cluster.id"
        if not id_file.exists():
            id_file.write_text(uuid.uuid4().hex[:22])
        subprocess.run(
            kafka_java(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                id_file.read_text().strip(),
                "-c",
                str(props),
                *KAFKA.scram_user_argument(),
                heap="256m",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    say(f"starting {KAFKA.name(node)} on 127.0.0.1:{KAFKA.port(node)} ({KAFKA.listener})")
    node_logs = LOGS / KAFKA.name(node)
    node_logs.mkdir(parents=True, exist_ok=True)
    spawn(KAFKA.name(node), kafka_java("kafka.Kafka", str(props), logs=node_logs))


def start_kafka() -> None:
    if all(kafka_node_running(n) for n in KAFKA.node_ids):
        return
    ensure_kafka_jars()
    ensure_tls_material(KAFKA)
    for node in KAFKA.node_ids:
        start_kafka_node(node)
    for node in KAFKA.node_ids:
        wait_for(KAFKA.name(node), partial(port_open, KAFKA.port(node)), 90)
    wait_for(f"{KAFKA.nodes} registered broker(s)", partial(brokers_registered, KAFKA.nodes), 90)


def brokers_registered(expected: int) -> bool:
    """The cluster can create RF-n topics only once every broker has registered."""
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    from shared.kafka_settings import KafkaSettings

    async def count() -> int:
        settings = KafkaSettings.from_vars(KAFKA.client_env())
        admin = AIOKafkaAdminClient(**settings.client_options(), request_timeout_ms=5000)
        await admin.start()
        try:
            return len((await admin.describe_cluster())["brokers"])
        finally:
            await admin.close()

    try:
        return asyncio.run(count()) >= expected
    except Exception:  # noqa: BLE001 - not yet
        return False


def stop_kafka() -> None:
    for pid_file in sorted(RUN.glob("kafka*.pid")):
        stop_pid(pid_file.stem, timeout=30)


def external_kafka() -> str | None:
    """KAFKA_BOOTSTRAP_SERVERS when it points somewhere other than this stack's brokers."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    return None if not given or KAFKA.owns(given) else given


def external_database() -> str | None:
    given = os.environ.get("DATABASE_URL", "")
    if not given:
        return None
    url = urlsplit(given)
    return None if url.hostname in ("127.0.0.1", "localhost") and url.port == PG_PORT else given


# --- PostgreSQL ----------------------------------------------------------------------


def as_postgres(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI and these machines run as root.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def ensure_postgres_installed() -> None:
    if (PG_BIN / "postgres").exists():
        return
    say("installing PostgreSQL (Debian package)")
    subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "postgresql"],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


def pg_running() -> bool:
    data = PG_DIR / "data"
    return (
        data.exists()
        and subprocess.run(
            as_postgres([str(PG_BIN / "pg_ctl"), "status", "-D", str(data)]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        ).returncode
        == 0
    )


def start_postgres() -> None:
    if pg_running():
        return
    ensure_postgres_installed()
    data = PG_DIR / "data"
    PG_DIR.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(PG_DIR, "postgres", "postgres")
    fresh = not (data / "PG_VERSION").exists()
    if fresh:
        subprocess.run(
            as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    say(f"starting PostgreSQL on 127.0.0.1:{PG_PORT}")
    # Dev/test tuning: no fsync (an OS crash may lose the disposable data), but every commit
    # reaches the kernel before it returns: a kill -9 of PostgreSQL must not undo a commit
    # whose Kafka offsets were already committed (synchronous_commit=off would, `make chaos`).
    opts = (
        f"-p {PG_PORT} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=on -c full_page_writes=off -c max_connections=200 "
        "-c shared_buffers=256MB -c shared_preload_libraries=pg_stat_statements "
        "-c autovacuum_naptime=10s"
    )
    pg_log = PG_DIR / "postgres.log"
    subprocess.run(
        as_postgres([str(PG_BIN / "pg_ctl"), "start", "-w", "-D", str(data), "-o", opts, "-l", str(pg_log)]),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if fresh:
        psql = as_postgres(
            [str(PG_BIN.parent / "bin" / "psql"), "-h", "/tmp", "-p", str(PG_PORT), "-U", "postgres", "-q", "-c"]
        )
        subprocess.run([*psql, "CREATE ROLE xj LOGIN PASSWORD 'xj' SUPERUSER"], check=True)
        subprocess.run([*psql, "CREATE DATABASE xj OWNER xj"], check=True)


def stop_postgres() -> None:
    if pg_running():
        subprocess.run(
            as_postgres([str(PG_BIN / "pg_ctl"), "stop", "-m", "fast", "-D", str(PG_DIR / "data")]),
            check=False,
            stdout=subprocess.DEVNULL,
        )


# --- services ------------------------------------------------------------------------


def endpoints() -> dict[str, str]:
    """Where clients find the broker(s), the database and the services (stack.env)."""
    kafka = external_kafka()
    # An existing cluster's security settings come from the caller's environment.
    env = {k: v for k, v in os.environ.items() if k.startswith(("KAFKA_", "TOPIC_"))} if kafka else KAFKA.client_env()
    env["DATABASE_URL"] = external_database() or LOCAL_DATABASE_URL
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


def start_services(env: dict[str, str]) -> None:
    # STACK_SERVICES=awards,reporting starts only those (benchmarks time one service alone).
    wanted = set(filter(None, os.environ.get("STACK_SERVICES", "").split(","))) or {s.name for s in SERVICES}
    # The child sees exactly the stack's Kafka settings, not leftovers of the caller's shell.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "TOPIC_"))}
    started = []
    for svc in SERVICES:
        if svc.name not in wanted:
            continue
        for name, port in replicas(svc):
            if pid_alive(name):
                continue
            say(f"starting {name} on :{port}")
            spawn(
                name,
                [sys.executable, "-m", f"services.{svc.name}"],
                {**env, f"{svc.name.upper()}_PORT": str(port), "HTTP_PORT": str(port)},
                base=base,
            )
            started.append((name, port))
    for name, port in started:
        wait_for(f"{name} /readyz", partial(ready, port), 120)


# --- Prometheus ----------------------------------------------------------------------


def start_prometheus() -> None:
    """Debian's Prometheus with the project's config (ops/prometheus) and this stack's
    service ports as its targets (file_sd: targets/*.json beside the config)."""
    if not WITH_PROMETHEUS or (pid_alive("prometheus") and port_open(PROMETHEUS_PORT)):
        return
    ops, home = ROOT / "ops" / "prometheus", LOCAL / "prometheus"
    (home / "targets").mkdir(parents=True, exist_ok=True)
    for name in ("prometheus.yml", "alerts.yml"):
        shutil.copyfile(ops / name, home / name)
    targets = [
        {"targets": [f"127.0.0.1:{port}"], "labels": {"service": svc.name, "replica": name}}
        for svc in SERVICES
        for name, port in replicas(svc)
    ]
    (home / "targets" / "local.json").write_text(json.dumps(targets, indent=1))
    say(f"starting Prometheus on 127.0.0.1:{PROMETHEUS_PORT}")
    spawn(
        "prometheus",
        [
            "prometheus",
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
            "--storage.tsdb.retention.time=7d",
        ],
    )
    wait_for("Prometheus", partial(port_open, PROMETHEUS_PORT), 60)


def start_infra() -> None:
    if not external_database():
        start_postgres()
    if not external_kafka():
        start_kafka()


def up() -> None:
    t0 = time.monotonic()
    start_infra()
    env = endpoints()
    start_services(env)
    start_prometheus()
    if WITH_PROMETHEUS:
        env["PROMETHEUS_URL"] = f"http://127.0.0.1:{PROMETHEUS_PORT}"
    LOCAL.mkdir(exist_ok=True)
    STACK_ENV.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    say(f"up in {time.monotonic() - t0:.1f}s; endpoints in {STACK_ENV}")
    say(f"  kafka        {env['KAFKA_BOOTSTRAP_SERVERS']} ({env.get('KAFKA_SECURITY_PROTOCOL', 'PLAINTEXT')})")
    for svc in SERVICES:
        say(f"  {svc.name:<12} {env[svc.url_var]}")
    say(f"  dashboard    {env['REPORTING_URL']}/")
    if WITH_PROMETHEUS:
        say(f"  prometheus   {env['PROMETHEUS_URL']}/alerts")


def stop_pid(name: str, timeout: float = 20) -> None:
    pid = pid_alive(name)
    if pid is None:
        (RUN / f"{name}.pid").unlink(missing_ok=True)
        return
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(name):
        time.sleep(0.1)
    if pid_alive(name):
        os.killpg(pid, signal.SIGKILL)
    (RUN / f"{name}.pid").unlink(missing_ok=True)


def service_processes() -> list[str]:
    """Every service process this stack has a pid file for, replicas included."""
    names = {s.name for s in SERVICES}
    return sorted(p.stem for p in RUN.glob("*.pid") if p.stem.split("-")[0] in names)


def down() -> None:
    for name in service_processes():
        stop_pid(name)
    stop_pid("prometheus")
    stop_kafka()
    stop_postgres()
    say("down")


def status() -> None:
    kafka = sorted(p.stem for p in RUN.glob("kafka*.pid")) or [KAFKA.name(n) for n in KAFKA.node_ids]
    for name in (service_processes() or [s.name for s in SERVICES]) + kafka:
        pid = pid_alive(name)
        say(f"{name:<14} {'running pid ' + str(pid) if pid else 'stopped'}")
    say(f"{'postgres':<14} {'running' if pg_running() else 'stopped'}")
    if WITH_PROMETHEUS:
        pid = pid_alive("prometheus")
        say(f"{'prometheus':<14} {'running pid ' + str(pid) if pid else 'stopped'}")


def run_foreground() -> None:
    up()
    say("logs follow; Ctrl-C stops the stack")
    tail = subprocess.Popen(["tail", "-n", "0", "-F", *(str(LOGS / f"{s.name}.log") for s in SERVICES)])

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the stack just like Ctrl-C

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        tail.wait()
    except KeyboardInterrupt:
        pass
    finally:
        tail.terminate()
        down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status", "run", "infra"])
    cmd = parser.parse_args().command
    if cmd == "infra":  # broker and database only (used by tests that start services themselves)
        start_infra()
        return
    {"up": up, "down": down, "status": status, "run": run_foreground}[cmd]()


if __name__ == "__main__":
    main()
