"""`make up` is idempotent, restarts only what died, and `make down` leaves
nothing behind. Runs a second full stack (own broker, database, ports) under .local/test-up."""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.support.stack import ROOT

pytestmark = pytest.mark.e2e

STACK = ROOT / ".local" / "test-up"
ENV = {
    "STACK_DIR": str(STACK),
    "LOCAL_KAFKA_PORT": "31092",
    "LOCAL_PG_PORT": "31432",
    "REGISTRATION_PORT": "28001",
    "AWARDS_PORT": "28002",
    "REPORTING_PORT": "28000",
    "LOCAL_PROMETHEUS_PORT": "28090",
    # A broker that lives a minute: the quick compiler only, as every stack of the suite's.
    "KAFKA_JVM_PERFORMANCE_OPTS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}
NAMES = ("registration", "awards", "reporting", "kafka", "prometheus")


def make(target: str, sourced: dict[str, str] | None = None) -> str:
    """`make target` from a clean shell, or from one that sourced stack.env (`sourced`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "TOPIC_")) and k != "DATABASE_URL"}
    out = subprocess.run(
        ["make", "-s", target],
        cwd=ROOT,
        env={**env, **ENV, **(sourced or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def pids() -> dict[str, int]:
    return {n: int((STACK / "run" / f"{n}.pid").read_text()) for n in NAMES if (STACK / "run" / f"{n}.pid").exists()}


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def prometheus_targets(timeout: float = 60) -> set[tuple[str, str, str]]:
    """(service, scrape URL, health) of every active target, once all have been scraped."""
    deadline = time.monotonic() + timeout
    found: set[tuple[str, str, str]] = set()
    while time.monotonic() < deadline:
        with urllib.request.urlopen("http://127.0.0.1:28090/api/v1/targets", timeout=5) as r:
            active = json.load(r)["data"]["activeTargets"]
        found = {(t["labels"]["service"], t["scrapeUrl"], t["health"]) for t in active}
        if len(found) == 3 and all(h == "up" for _, _, h in found):
            break
        time.sleep(1)
    return found


def stack_processes() -> list[str]:
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    return [line for line in ps.splitlines() if str(STACK) in line or ":31432" in line or "-p 31432" in line]


def test_make_up_twice_restart_one_and_down() -> None:
    shutil.rmtree(STACK, ignore_errors=True)
    try:
        first = make("up")
        assert "starting kafka on 127.0.0.1:31092 (PLAINTEXT)" in first and "starting PostgreSQL" in first
        started = pids()
        assert set(started) == set(NAMES) and all(alive(p) for p in started.values())
        env_file = (STACK / "stack.env").read_text()
        assert (STACK / "stack.env").stat().st_mode & 0o077 == 0  # it holds a database password
        assert "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:31092" in env_file
        # The operator's shell is the migration role, with the password the stack made for it.
        migrator = (STACK / "pg-secrets" / "xj_migrator.password").read_text().strip()
        assert f"DATABASE_URL=postgresql://xj_migrator:{quote(migrator, safe='')}@127.0.0.1:31432/xj" in env_file
        assert "REPORTING_URL=http://127.0.0.1:28000" in env_file
        assert "PROMETHEUS_URL=http://127.0.0.1:28090" in env_file
        assert prometheus_targets() == {
            ("registration", "http://127.0.0.1:28001/metrics", "up"),
            ("awards", "http://127.0.0.1:28002/metrics", "up"),
            ("reporting", "http://127.0.0.1:28000/metrics", "up"),
        }

        t0 = time.monotonic()
        second = make("up")
        warm = time.monotonic() - t0
        assert not re.search(r"starting ", second), second
        assert pids() == started
        print(f"warm make up: {warm:.1f}s")

        os.killpg(started["awards"], signal.SIGKILL)
        while alive(started["awards"]):
            time.sleep(0.05)
        third = make("up")
        assert re.findall(r"starting (\w+)", third) == ["awards"]
        now = pids()
        assert now["awards"] != started["awards"]
        assert {k: v for k, v in now.items() if k != "awards"} == {k: v for k, v in started.items() if k != "awards"}

        # A shell that sourced stack.env names the stack's own broker and database: they
        # are still local, so a dead broker is restarted, not taken for an external one.
        sourced = dict(line.split("=", 1) for line in (STACK / "stack.env").read_text().splitlines())
        os.killpg(now["kafka"], signal.SIGKILL)
        while alive(now["kafka"]):
            time.sleep(0.05)
        fourth = make("up", sourced)
        assert re.findall(r"starting (\w+)", fourth) == ["kafka"]
        assert alive(pids()["kafka"]) and pids()["kafka"] != now["kafka"]
    finally:
        make("down")
    assert not any(alive(p) for p in started.values())
    assert stack_processes() == []
