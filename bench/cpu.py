"""CPU time of the stack's processes from /proc: what each event costs, by process.

On 2 shared cores, 10,000 events/s leaves ~200 µs of CPU per event for everything: this
is the number that has to fall, so the bench prints it per process.
"""

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2 :].split()  # fields after "(comm)", from field 3 on


def cpu_seconds(pid: int, *, with_reaped_children: bool = False) -> float:
    """utime + stime (and the reaped children's, for a parent that forks workers)."""
    f = _stat(pid)
    ticks = int(f[11]) + int(f[12])  # utime, stime (fields 14, 15)
    if with_reaped_children:
        ticks += int(f[13]) + int(f[14])  # cutime, cstime
    return ticks / TICK


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


@dataclass(frozen=True)
class Processes:
    """pids by role: the services, the broker, the PostgreSQL postmaster."""

    services: dict[str, int]
    broker: int
    postmaster: int

    def sample(self) -> dict[str, float]:
        out = {name: cpu_seconds(pid) for name, pid in self.services.items()}
        out["kafka"] = cpu_seconds(self.broker)
        # Backends live as long as the pools' connections; exited ones count in cutime.
        pg = cpu_seconds(self.postmaster, with_reaped_children=True)
        for child in children(self.postmaster):
            try:
                pg += cpu_seconds(child)
            except OSError:
                continue
        out["postgres"] = pg
        return out


def per_event_us(before: dict[str, float], after: dict[str, float], events: int) -> dict[str, float]:
    """µs of CPU per event, by process and in total."""
    used = {k: (after[k] - before[k]) * 1e6 / max(events, 1) for k in before}
    used["total"] = sum(used.values())
    return used
