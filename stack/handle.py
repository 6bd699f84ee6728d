"""A handle on one local stack in its own directory, driven from Python: its own Kafka
shape (a SASL_SSL broker, a three-node cluster), ports, service processes and database.
The tests' stacks, the bench's and `make chaos`'s are all handles.

A handle sets every variable of its own stack and inherits none of the caller's beyond
what finds programs and files (INHERITED): a shell that sourced another stack's
stack.env must not point this one at that stack's broker or database."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import asyncpg

from shared.messaging.kafka_settings import KafkaSettings
from stack.kafka_nodes import KafkaLayout
from stack.layout import ROOT

# What the caller's environment may give a stack: where programs, caches and Java are.
INHERITED = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "TERM",
    "CI",
    "JAVA_HOME",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "PG_BIN",
    "VIRTUAL_ENV",
    "UV_CACHE_DIR",
    "XDG_CACHE_HOME",
)
SERVICES = ("reporting", "registration", "awards")  # ports base+0, +1, +2 (the default ports 8000/8001/8002)


async def fresh_database(admin_dsn: str, name: str, *, password: str | None = None) -> str:
    """A new empty database; with `password`, owned by a new login role of the same name."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if password is None:
            await conn.execute(f"CREATE DATABASE {name}")
            return admin_dsn.rsplit("/", 1)[0] + f"/{name}"
        await conn.execute(f"DROP ROLE IF EXISTS {name}")
        await conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        await conn.execute(f"CREATE DATABASE {name} OWNER {name}")
    finally:
        await conn.close()
    host = admin_dsn.split("@", 1)[1].rsplit("/", 1)[0]
    return f"postgresql://{name}:{password}@{host}/{name}"


class StackHandle:
    """`dsn` None: the stack runs its own PostgreSQL on `pg_port`; else it uses `dsn`."""

    def __init__(
        self,
        directory: Path,
        *,
        kafka_port: int,
        service_port: int,
        env: dict[str, str],
        dsn: str | None = None,
        pg_port: int | None = None,
    ) -> None:
        self.dir = directory
        self.service_port = service_port
        self.pg_port = pg_port or kafka_port + 5
        self.env = {
            "STACK_DIR": str(self.dir),
            "STACK_PROMETHEUS": "0",
            "LOCAL_KAFKA_PORT": str(kafka_port),
            "LOCAL_PG_PORT": str(self.pg_port),
            **({"DATABASE_URL": dsn} if dsn else {}),
            "REPORTING_PORT": str(service_port),
            "REGISTRATION_PORT": str(service_port + 1),
            "AWARDS_PORT": str(service_port + 2),
            "PROGRESS_PUBLISH_INTERVAL_SECONDS": "1",
            **env,
        }
        self.layout = KafkaLayout.from_env(base_port=kafka_port, kafka_dir=self.dir / "kafka", env=self.env)

    def process_env(self) -> dict[str, str]:
        """What a process of this stack runs with: its own variables, and of the caller's
        only INHERITED."""
        return {**{k: v for k, v in os.environ.items() if k in INHERITED}, **self.env}

    def cli(self, command: str, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "stack.localstack", command, *args],
            cwd=ROOT,
            env=self.process_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    def stack_env(self) -> dict[str, str]:
        lines = (self.dir / "stack.env").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)

    @property
    def dsn(self) -> str:
        return self.stack_env()["DATABASE_URL"]

    def kafka(self) -> KafkaSettings:
        return KafkaSettings.from_vars(self.stack_env())

    def url(self, service: str, replica: int = 1) -> str:
        machine = self.layout.service_machine(replica)  # a second replica may run on a node's machine
        host = "127.0.0.1" if machine is None else self.layout.host(machine)
        return f"http://{host}:{self.service_port + SERVICES.index(service) + 100 * (replica - 1)}"

    @property
    def replicas(self) -> int:
        return int(self.env.get("SERVICE_REPLICAS") or "1")

    def pid(self, name: str) -> int:
        return int((self.dir / "run" / f"{name}.pid").read_text())

    def kill9(self, name: str) -> None:
        pid = self.pid(name)
        os.killpg(pid, signal.SIGKILL)
        wait_gone(pid)

    def postgres_pids(self) -> list[int]:
        """The primary's postmaster and its children (a signal to the postmaster alone leaves
        the backends serving)."""
        primary = self.dir / "pg" / "primary"  # after a failover, the other node's (stack/postgres.py)
        data = "data-b" if primary.exists() and primary.read_text().strip() == "pg-b" else "data"
        postmaster = int((self.dir / "pg" / data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False)
        return [postmaster, *(int(p) for p in children.stdout.split())]

    def log(self, name: str) -> str:
        return (self.dir / "logs" / f"{name}.log").read_text(errors="replace")


def wait_gone(pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                return
        except OSError:
            return
        time.sleep(0.05)


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return 0
