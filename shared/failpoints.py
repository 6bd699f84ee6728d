"""Failpoints for crash tests: where a process kills itself on request, between two commits."""

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
