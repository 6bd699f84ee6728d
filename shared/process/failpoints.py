"""Failpoints for crash tests: where a process kills itself on request, between two commits."""

import asyncio
import os
import signal


def crash_point(service: str) -> None:
    """Failpoint for crash tests: the database has committed, the offsets have not.

    With XJ_CRASH_FILE set (a path; "{service}" in it is replaced by the service name)
    and that file present, the process deletes it and SIGKILLs itself here — exactly the
    window G2 must survive. Unset in production.
    """
    flag = os.environ.get("XJ_CRASH_FILE", "").replace("{service}", service)
    if flag and os.path.exists(flag):
        os.unlink(flag)
        os.kill(os.getpid(), signal.SIGKILL)


async def pause_point(point: str) -> None:
    """Failpoint for fault tests: with XJ_PAUSE_FILE set ("{point}" in it replaced) and that
    file present, wait here (inside the caller's transaction) until the file is removed,
    at most a minute: a test holds the transaction open while it fails the database over.
    Unset in production."""
    flag = os.environ.get("XJ_PAUSE_FILE", "").replace("{point}", point)
    if not flag:
        return
    for _ in range(600):
        if not await asyncio.to_thread(os.path.exists, flag):
            return
        await asyncio.sleep(0.1)
