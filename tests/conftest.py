"""Session fixtures: a real broker and database, and the three services as processes.

The local backend runs a disposable stack under .local/test on its own ports, so a
developer's `make up` stack is never touched and every run starts from empty topics.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.backends import current_backend

ROOT = Path(__file__).resolve().parent.parent
TEST_STACK = ROOT / ".local" / "test"
AUTH_ISSUER = "https://id.xj-incentives.test"
AUTH_AUDIENCE = "xj-awards"
SERVICE_PORTS = {"registration": 18001, "awards": 18002, "reporting": 18000}


@dataclass(frozen=True)
class Infra:
    bootstrap: str
    dsn: str


@dataclass
class Stack:
    infra: Infra
    env: dict[str, str] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return self.infra.bootstrap

    @property
    def dsn(self) -> str:
        return self.infra.dsn

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{SERVICE_PORTS[service]}"

    def cli(self, command: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "stack.localstack", command],
            cwd=ROOT,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=True,
            timeout=240,
        )
        return out.stdout

    def up(self) -> str:
        return self.cli("up")

    def pid(self, service: str) -> int:
        return int((TEST_STACK / "run" / f"{service}.pid").read_text())

    def kill9(self, service: str) -> None:
        pid = self.pid(service)
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)

    def start_replica(self, service: str, port: int) -> "subprocess.Popen[bytes]":
        """A second process of `service` in the same consumer group, on its own HTTP port."""
        env = {**os.environ, **self.env, f"{service.upper()}_PORT": str(port)}
        log = open(TEST_STACK / "logs" / f"{service}-replica-{port}.log", "ab")  # noqa: SIM115
        return subprocess.Popen(
            [sys.executable, "-m", f"services.{service}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, service: str, timeout: float = 60, *, port: int | None = None) -> None:
        """Until `service` (or its replica on `port`) answers /readyz with 200."""
        url = f"http://127.0.0.1:{port}" if port else self.url(service)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{service} on {url} not ready")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().split()
    except OSError:
        return False
    return stat[2] != "Z"


# Every port below the kernel's ephemeral range (32768+), where a client socket could
# already hold it: the test stack, `make up`'s test stack and the bench all stay under it.
def _stack_env(extra: dict[str, str]) -> dict[str, str]:
    return {
        "STACK_DIR": str(TEST_STACK),
        "STACK_PROMETHEUS": "0",
        "LOCAL_KAFKA_PORT": "29092",
        "LOCAL_PG_PORT": "25432",
        "REGISTRATION_PORT": str(SERVICE_PORTS["registration"]),
        "AWARDS_PORT": str(SERVICE_PORTS["awards"]),
        "REPORTING_PORT": str(SERVICE_PORTS["reporting"]),
        # Short enough for the PARK_EXPIRED test, long enough for out-of-order tests.
        "PARK_TTL_SECONDS": "12",
        "PARK_SWEEP_INTERVAL_SECONDS": "1",
        "TOPIC_PARTITIONS": "6",
        "PROGRESS_PUBLISH_INTERVAL_SECONDS": "1",
        "XJ_CRASH_FILE": str(TEST_STACK / "crash-{service}"),
        # tests/support/auth.py writes this JWKS and mints the tokens.
        "AUTH_JWKS_FILE": str(TEST_STACK / "jwks.json"),
        "AUTH_ISSUER": AUTH_ISSUER,
        "AUTH_AUDIENCE": AUTH_AUDIENCE,
        **extra,
    }


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    backend = current_backend()
    if backend == "configured":
        yield Infra(os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["DATABASE_URL"])
        return
    if backend == "testcontainers":
        from testcontainers.kafka import KafkaContainer  # type: ignore[import-untyped]
        from testcontainers.postgres import PostgresContainer  # type: ignore[import-untyped]

        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as kafka, PostgresContainer("postgres:15") as pg:
            dsn = pg.get_connection_url().replace("postgresql+psycopg2://", "postgresql://")
            yield Infra(kafka.get_bootstrap_server(), dsn)
        return
    env = {**os.environ, **_stack_env({})}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "stack.localstack", "down"], cwd=ROOT, env=env, check=False, capture_output=True
    )
    shutil.rmtree(TEST_STACK, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "stack.localstack", "infra"], cwd=ROOT, env=env, check=True)
    try:
        yield Infra("127.0.0.1:29092", "postgresql://xj:xj@127.0.0.1:25432/xj")
    finally:
        subprocess.run(
            [sys.executable, "-m", "stack.localstack", "down"], cwd=ROOT, env=env, check=False, capture_output=True
        )


@pytest.fixture(scope="session")
def stack(infra: Infra) -> Iterator[Stack]:
    s = Stack(infra, _stack_env({"KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap, "DATABASE_URL": infra.dsn}))
    from tests.support.auth import write_jwks

    write_jwks()
    s.up()
    try:
        yield s
    finally:
        for service in SERVICE_PORTS:
            pid_file = TEST_STACK / "run" / f"{service}.pid"
            if pid_file.exists():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.killpg(int(pid_file.read_text()), signal.SIGTERM)
