"""Processes of the local stack: spawn detached with a pid file and a log, find, stop."""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from stack.layout import LOGS, ROOT, RUN


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


def stop_pid(name: str, timeout: float = 20) -> None:
    stop_pids([name], timeout)


def stop_pids(names: list[str], timeout: float = 20) -> None:
    """SIGTERM to all at once, then each gets `timeout` seconds in parallel before SIGKILL:
    a stack's processes stop together, so the last broker never waits for a quorum gone."""
    running = {name: pid for name in names if (pid := pid_alive(name)) is not None}
    for pid in running.values():
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_alive(name) for name in running):
        time.sleep(0.1)
    for name, pid in running.items():
        if pid_alive(name):
            os.killpg(pid, signal.SIGKILL)
    for name in names:
        (RUN / f"{name}.pid").unlink(missing_ok=True)
