"""The stack the tests run against: where the broker and database are (`Infra`) and the
three services as processes (`Stack`, a stack handle on .local/test at fixed ports),
started by the session fixtures in tests/conftest.py."""

import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from stack.handle import StackHandle
from stack.layout import ROOT

TEST_STACK = ROOT / ".local" / "test"
AUTH_ISSUER = "https://id.xj-incentives.test"
AUTH_AUDIENCE = "xj-awards"
SERVICE_PORTS = {"registration": 18001, "awards": 18002, "reporting": 18000}
KAFKA_PORT, PG_PORT = 29092, 25432

__all__ = ["AUTH_AUDIENCE", "AUTH_ISSUER", "ROOT", "SERVICE_PORTS", "TEST_STACK", "Infra", "Stack", "alive", "on"]


@dataclass(frozen=True)
class Infra:
    bootstrap: str
    dsn: str  # the administrator's, for the tests' inspection


class Stack(StackHandle):
    """The shared test stack: the three services against `infra`."""

    def __init__(self, infra: Infra, env: dict[str, str]) -> None:
        super().__init__(
            TEST_STACK, kafka_port=KAFKA_PORT, service_port=SERVICE_PORTS["reporting"], pg_port=PG_PORT, env=env
        )
        self.infra = infra

    @property
    def bootstrap(self) -> str:
        return self.infra.bootstrap

    @property
    def dsn(self) -> str:
        return self.infra.dsn

    def up(self) -> str:
        return self.cli("up")

    def start_replica(self, service: str, port: int) -> "subprocess.Popen[bytes]":
        """A second process of `service` in the same consumer group, on its own HTTP port."""
        env = {**self.process_env(), f"{service.upper()}_PORT": str(port)}
        log = open(self.dir / "logs" / f"{service}-replica-{port}.log", "ab")  # noqa: SIM115
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


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().split()
    except OSError:
        return False
    return stat[2] != "Z"


@dataclass
class _OnHandle:
    handle: StackHandle

    @property
    def bootstrap(self) -> str:
        return self.handle.stack_env()["KAFKA_BOOTSTRAP_SERVERS"]

    def url(self, service: str) -> str:
        return self.handle.url(service)


def on(h: StackHandle) -> Stack:
    """A stack of a module's own, as the shared test steps (tests/support/disbursement.py)
    take a stack: its broker and its services' addresses."""
    return cast(Stack, _OnHandle(h))
