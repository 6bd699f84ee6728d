"""A second local stack for one test module: its own Kafka shape (a SASL_SSL broker, a
three-node cluster), its own ports and service processes, and a database of its own in
the session's PostgreSQL server."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import asyncpg

from shared.kafka_settings import KafkaSettings
from stack.kafka_nodes import KafkaLayout

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("reporting", "registration", "awards")  # ports base+0, +1, +2 (SPEC order 8000/8001/8002)


async def fresh_database(admin_dsn: str, name: str) -> str:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return admin_dsn.rsplit("/", 1)[0] + f"/{name}"


class ExtraStack:
    def __init__(self, name: str, *, kafka_port: int, service_port: int, dsn: str, env: dict[str, str]) -> None:
        self.dir = ROOT / ".local" / f"test-{name}"
        self.service_port = service_port
        self.env = {
            "STACK_DIR": str(self.dir),
            "LOCAL_KAFKA_PORT": str(kafka_port),
            "LOCAL_PG_PORT": str(kafka_port + 5),  # never started: DATABASE_URL points elsewhere
            "DATABASE_URL": dsn,
            "REPORTING_PORT": str(service_port),
            "REGISTRATION_PORT": str(service_port + 1),
            "AWARDS_PORT": str(service_port + 2),
            "PROGRESS_GAUGE_INTERVAL_SECONDS": "1",
            **env,
        }
        self.layout = KafkaLayout.from_env(base_port=kafka_port, kafka_dir=self.dir / "kafka", env=self.env)

    def cli(self, command: str) -> str:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "TOPIC_"))}
        out = subprocess.run(
            [sys.executable, "-m", "stack.localstack", command],
            cwd=ROOT,
            env={**base, **self.env},
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

    def kafka(self) -> KafkaSettings:
        return KafkaSettings.from_vars(self.stack_env())

    def url(self, service: str, replica: int = 1) -> str:
        return f"http://127.0.0.1:{self.service_port + SERVICES.index(service) + 100 * (replica - 1)}"

    def pid(self, name: str) -> int:
        return int((self.dir / "run" / f"{name}.pid").read_text())

    def kill9(self, name: str) -> None:
        pid = self.pid(name)
        os.killpg(pid, signal.SIGKILL)
        while Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
            time.sleep(0.05)

    def log(self, name: str) -> str:
        return (self.dir / "logs" / f"{name}.log").read_text(errors="replace")


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return 0
