"""The stack the tests run against: where the broker and database are (`Infra`) and the
three services as processes (`Stack`), started by the session fixtures in tests/conftest.py."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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
