"""What tracing costs per event: the end-to-end phase with tracing off, at 10 % of new
traces and at 100 %, interleaved on the bench's stack in one run, with a Zipkin server up
for all of them. The five processes' CPU per event is printed by process; Zipkin's apart.

    python -m bench.tracing          (BENCH_TRACING_EVENTS=20000 per run)
    BENCH_TRACING_SINK=1 python -m bench.tracing   (10 % to Zipkin and 10 % to a sink)

`make bench` runs it as its last phase (BENCH_TRACING=0 skips it).
"""

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass

from bench.bench_stack import GROUPS, HANDLE, STACK, commits_by_role, end_to_end, settle, stack, stop_service
from bench.cpu import cpu_seconds
from bench.tail import scrape

ZIPKIN_PORT = "30411"
OFF = {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_SAMPLER_ARG": "1"}
TENTH = {"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
ALL = {"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_SAMPLER_ARG": "1"}
# Interleaved: PostgreSQL's cost per event grows with the history each run adds, so a
# traced run is compared with the untraced runs on either side of it.
# Five tenths, judged by their median and mean: one pair moved by 8 points between runs
# of the same code, and the machine's speed drifts within minutes.
MODES = (
    *(("off", OFF), ("10 %", TENTH)) * 5,
    ("off", OFF),
    ("100 %", ALL),
    ("off", OFF),
)
# BENCH_TRACING_SINK=1: every other 10 % run sends its spans to a sink that reads and drops
# them instead of to Zipkin (idle, but up), to tell what Zipkin's own work, sharing the
# machine, does to the processes measured.
SINK_PORT = "30412"
SINK = {
    "TRACING": "0",
    "OTEL_SDK_DISABLED": "false",
    "OTEL_TRACES_SAMPLER_ARG": "0.1",
    "OTEL_EXPORTER_ZIPKIN_ENDPOINT": f"http://127.0.0.1:{SINK_PORT}/api/v2/spans",
}
SINK_MODES = (
    ("off", OFF),
    ("10 %", TENTH),
    ("off", OFF),
    ("10 % sink", SINK),
    ("off", OFF),
    ("10 %", TENTH),
    ("off", OFF),
    ("10 % sink", SINK),
    ("off", OFF),
)
SINK_SERVER = """
import http.server, sys
class Drop(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Drop).serve_forever()
"""


def restart_services(env: dict[str, str]) -> None:
    for name in GROUPS:
        stop_service(name)
    HANDLE.env.pop("OTEL_EXPORTER_ZIPKIN_ENDPOINT", None)
    HANDLE.env.update({"TRACING": "1", **env})
    stack("up")


@dataclass
class Run:
    mode: str
    cpu: dict[str, float]  # µs per intake event by process, and "total"
    events_per_second: float
    receivers_us: float  # Zipkin's CPU per event (and the sink's)
    commits: dict[str, float]  # transactions per 1,000 intake events by role
    gc_us: dict[str, float]  # each service's garbage-collection pauses, µs per intake event


async def tracing_cost(n_events: int, sink: "subprocess.Popen[bytes] | None" = None) -> dict[str, float]:
    """CPU µs per event, summed over the five processes: each traced mode against the mean
    of the untraced runs beside it (the stack must run with TRACING=1)."""
    runs = await run_modes(n_events, SINK_MODES if sink else MODES, sink)
    over = print_costs(runs)
    print_commits(runs)
    mean = {mode: sum(v) / len(v) for mode, v in over.items()}
    offs = [r.cpu["total"] for r in runs if r.mode == "off"]
    for mode, v in over.items():
        print(
            f"  {mode} against the untraced runs beside it: median {statistics.median(v):+.1%}, mean {mean[mode]:+.1%}"
        )
    print(
        f"RESULT tracing_off_us={sum(offs) / len(offs):.0f} "
        + " ".join(f"{mode.replace(' %', '_pct').replace(' ', '_')}_over_off={v:+.3f}" for mode, v in mean.items())
        + " "
        + " ".join(
            f"{mode.replace(' %', '_pct').replace(' ', '_')}_median_over_off={statistics.median(v):+.3f}"
            for mode, v in over.items()
        )
    )
    return mean


async def run_modes(
    n_events: int, modes: tuple[tuple[str, dict[str, str]], ...], sink: "subprocess.Popen[bytes] | None"
) -> list[Run]:
    zipkin = int((STACK / "run" / "zipkin.pid").read_text())

    def receivers() -> float:
        return cpu_seconds(zipkin) + (cpu_seconds(sink.pid) if sink else 0)

    # Traced in full, so Zipkin compiles its intake too: a cold Zipkin's JIT, on the same two
    # cores, made the first traced run cost 10-15 points more than the later ones.
    print(
        f"== warming up (the JIT of a new broker and Zipkin): {n_events // 3:,} intake events, all traced, not counted"
    )
    restart_services(ALL)
    await end_to_end(n_events // 3, seed=699)
    runs = []
    for i, (mode, env) in enumerate(modes):
        print(f"== tracing {mode}: {n_events:,} intake events end to end")
        restart_services(env)
        await settle()
        z0, c0, g0 = receivers(), await commits_by_role(), scrape()
        n, elapsed, cpu = await end_to_end(n_events, seed=700 + i)
        z1, c1, g1 = receivers(), await commits_by_role(), scrape()
        commits = {role: (c1[role] - c0.get(role, 0)) / n * 1000 for role in sorted(c1)}
        gc_us = {name: (g1[(name, "gc pause ms")] - g0[(name, "gc pause ms")]) / n * 1000 for name in GROUPS}
        runs.append(Run(mode, cpu, n / elapsed, (z1 - z0) / n * 1e6, commits, gc_us))
    return runs


def print_costs(runs: list[Run]) -> dict[str, list[float]]:
    """The table by process; returns each traced mode's totals against the runs beside it."""
    print("== what tracing costs (CPU µs per intake event; Zipkin's own apart)")
    names = [k for k in runs[0].cpu if k != "total"]
    header = "".join(f"{k:>14}" for k in names) + f"{'total':>8}{'vs off':>8}{'events/s':>10}{'zipkin':>8}"
    print(f"  {'tracing':<10}{header}")
    over: dict[str, list[float]] = {}
    for i, r in enumerate(runs):
        vs = (
            None
            if r.mode == "off"
            else r.cpu["total"] / ((runs[i - 1].cpu["total"] + runs[i + 1].cpu["total"]) / 2) - 1
        )
        if vs is not None:
            over.setdefault(r.mode, []).append(vs)
        cells = "".join(f"{r.cpu[k]:>14,.0f}" for k in names) + f"{r.cpu['total']:>8,.0f}"
        beside = "" if vs is None else f"{vs:+.1%}"
        print(f"  {r.mode:<10}{cells}{beside:>8}{r.events_per_second:>10,.0f}{r.receivers_us:>8,.0f}")
    return over


def print_commits(runs: list[Run]) -> None:
    """Whether tracing changes the batches: each COMMIT is a consumer's batch or a relay's
    round, and fewer events per batch would cost more per event everywhere."""
    print("== transactions committed per 1,000 intake events, by role")
    roles = [role for role in runs[0].commits if any(r.commits.get(role) for r in runs)]
    print(f"  {'tracing':<10}" + "".join(f"{role:>16}" for role in roles))
    for r in runs:
        print(f"  {r.mode:<10}" + "".join(f"{r.commits.get(role, 0):>16,.1f}" for role in roles))
    print("== garbage-collection pauses, µs per intake event, by service")
    print(f"  {'tracing':<10}" + "".join(f"{name:>16}" for name in GROUPS))
    for r in runs:
        print(f"  {r.mode:<10}" + "".join(f"{r.gc_us[name]:>16,.1f}" for name in GROUPS))


def with_zipkin() -> None:
    HANDLE.env.update({"TRACING": "1", "LOCAL_ZIPKIN_PORT": ZIPKIN_PORT})


def main() -> None:
    stack("down")
    shutil.rmtree(STACK, ignore_errors=True)
    with_zipkin()
    stack("up")
    sink = (
        subprocess.Popen([sys.executable, "-c", SINK_SERVER, SINK_PORT])
        if os.environ.get("BENCH_TRACING_SINK")
        else None
    )
    try:
        asyncio.run(tracing_cost(int(os.environ.get("BENCH_TRACING_EVENTS", "20000")), sink))
    finally:
        if sink:
            sink.terminate()
        stack("down")


if __name__ == "__main__":
    main()
