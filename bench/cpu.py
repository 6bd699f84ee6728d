"""CPU time of the stack's processes from /proc: what each event costs, by process.

On 2 shared cores, 10,000 events/s leaves ~200 µs of CPU per event for everything: this
is the number that has to fall, so the bench prints it per process.
"""

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
SERVICES = ("registration", "awards", "reporting")


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


def cpu_by_process() -> Counter[str]:
    """CPU jiffies so far of the stack's processes, by what they are: found by command line,
    so a service restarted in between still counts (what exited meanwhile does not)."""
    out: Counter[str] = Counter()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        name = next((s for s in SERVICES if f"services.{s}" in cmd), None)
        name = name or ("kafka" if "kafka.Kafka" in cmd else "postgres" if cmd.startswith("postgres") else None)
        if name:
            out[name] += int(fields[11]) + int(fields[12])
    return out


def broker_jit() -> int:
    """CPU jiffies so far of the broker's JIT compiler threads (HotSpot's C1 and C2): what a
    broker started minutes ago still spends compiling, and one running for a day does not."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"kafka.Kafka" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            for tid in os.listdir(f"/proc/{pid}/task"):
                if Path(f"/proc/{pid}/task/{tid}/comm").read_text().startswith(("C1 ", "C2 ")):
                    fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
                    total += int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return total


def machine() -> tuple[int, int, int]:
    """(busy, idle, steal) jiffies of all CPUs so far."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return f[0] + f[1] + f[2] + f[5] + f[6], f[3] + f[4], f[7]
