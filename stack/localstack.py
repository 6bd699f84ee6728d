"""The local stack without Docker: a real Apache Kafka (KRaft) broker from Maven Central
jars, a real PostgreSQL from Debian's package, and the three services as processes.

    python -m stack.localstack up|down|status|run

`up` is idempotent: it starts only what is not running and records pids under
.local/run/. With KAFKA_BOOTSTRAP_SERVERS or DATABASE_URL set it uses those instead of
starting its own broker or database.
"""

import argparse
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
KAFKA_CONTROLLER_PORT = KAFKA_PORT + 1
PG_PORT = int(os.environ.get("LOCAL_PG_PORT", "15432"))
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
LOCAL_DATABASE_URL = f"postgresql://xj:xj@127.0.0.1:{PG_PORT}/xj"
LOCAL_BOOTSTRAP = f"127.0.0.1:{KAFKA_PORT}"


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


def spawn(name: str, argv: list[str], env: dict[str, str] | None = None) -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    RUN.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
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


def kafka_java(main: str, *args: str, heap: str = "512m") -> list[str]:
    return [
        "java",
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={ROOT / 'stack' / 'kafka' / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={LOGS}",
        "-cp",
        f"{KAFKA_LIBS}/*",
        main,
        *args,
    ]


def start_kafka() -> None:
    if pid_alive("kafka") and port_open(KAFKA_PORT):
        return
    ensure_kafka_jars()
    data = KAFKA_DIR / "data"
    props = KAFKA_DIR / "server.properties"
    KAFKA_DIR.mkdir(parents=True, exist_ok=True)
    template = (ROOT / "stack" / "kafka" / "server.properties.template").read_text()
    props.write_text(template.format(port=KAFKA_PORT, controller_port=KAFKA_CONTROLLER_PORT, data_dir=data))
    if not (data / "meta.properties").exists():
        cluster_id = uuid.uuid4().hex[:22]
        subprocess.run(
            kafka_java(
                "kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id, "-c", str(props), heap="256m"
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    say(f"starting Kafka on {LOCAL_BOOTSTRAP}")
    spawn("kafka", kafka_java("kafka.Kafka", str(props)))
    wait_for("Kafka", lambda: port_open(KAFKA_PORT), 90)


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
    # Dev/test tuning: the stack's data is disposable, so no fsync per commit.
    opts = (
        f"-p {PG_PORT} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
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
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or LOCAL_BOOTSTRAP,
        "DATABASE_URL": os.environ.get("DATABASE_URL") or LOCAL_DATABASE_URL,
    }
    for svc in SERVICES:
        env[svc.url_var] = f"http://127.0.0.1:{svc.port}"
    return env


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def start_services(env: dict[str, str]) -> None:
    # STACK_SERVICES=awards,reporting starts only those (benchmarks time one service alone).
    wanted = set(filter(None, os.environ.get("STACK_SERVICES", "").split(","))) or {s.name for s in SERVICES}
    started = []
    for svc in SERVICES:
        if svc.name not in wanted or pid_alive(svc.name):
            continue
        say(f"starting {svc.name} on :{svc.port}")
        spawn(
            svc.name,
            [sys.executable, "-m", f"services.{svc.name}"],
            {**env, f"{svc.name.upper()}_PORT": str(svc.port), "HTTP_PORT": str(svc.port)},
        )
        started.append(svc)
    for svc in started:
        wait_for(f"{svc.name} /readyz", partial(ready, svc.port), 120)


def up() -> None:
    t0 = time.monotonic()
    if not os.environ.get("DATABASE_URL"):
        start_postgres()
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        start_kafka()
    env = endpoints()
    start_services(env)
    LOCAL.mkdir(exist_ok=True)
    STACK_ENV.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    say(f"up in {time.monotonic() - t0:.1f}s; endpoints in {STACK_ENV}")
    for svc in SERVICES:
        say(f"  {svc.name:<12} {env[svc.url_var]}")
    say(f"  dashboard    {env['REPORTING_URL']}/")


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


def down() -> None:
    for svc in SERVICES:
        stop_pid(svc.name)
    stop_pid("kafka", timeout=30)
    stop_postgres()
    say("down")


def status() -> None:
    for name in [s.name for s in SERVICES] + ["kafka"]:
        pid = pid_alive(name)
        say(f"{name:<12} {'running pid ' + str(pid) if pid else 'stopped'}")
    say(f"{'postgres':<12} {'running' if pg_running() else 'stopped'}")


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
        if not os.environ.get("DATABASE_URL"):
            start_postgres()
        if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            start_kafka()
        return
    {"up": up, "down": down, "status": status, "run": run_foreground}[cmd]()


if __name__ == "__main__":
    main()
