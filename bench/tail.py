"""`python -m bench.tail`: where a steady run's slow events come from.

Starts a fresh bench stack, pushes BENCH_EVENTS simulated intake events through it (the
backlog a burst leaves), sends registrations at BENCH_RATE/s for BENCH_WARMUP_SECONDS
unmeasured, then for BENCH_SECONDS measured, and prints, beside the latency percentiles:
- the slowest event sent in each second (stalls show as runs of slow seconds);
- CPU seconds per process over the steady phase, from /proc (services, broker, the
  PostgreSQL backends together), and the machine's busy and stolen share;
- from each service's /metrics: consumer batches and outbox relay rounds over 250 ms,
  and garbage-collector pauses.

The warm-up is what a running platform has behind it: a broker started minutes before
spends its first minute compiling (its CPU at 500/s fell from 74 % to 33 % of a core over
four 15-second runs), and the burst's own writes reach the disk about 30 s after it, when
the kernel's dirty pages expire, stalling commits for a few hundred milliseconds.

    BENCH_EVENTS=100000 BENCH_RATE=500 BENCH_WARMUP_SECONDS=40 BENCH_SECONDS=20 python -m bench.tail
"""

import asyncio
import os
import re
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.bench_stack import ENV, STACK, publish_simulated, stack, wait_caught_up
from bench.cpu import cpu_by_process, machine
from bench.steady import latency, pct

PORTS = {"registration": ENV["REGISTRATION_PORT"], "awards": ENV["AWARDS_PORT"], "reporting": ENV["REPORTING_PORT"]}


def scrape() -> dict[tuple[str, str], float]:
    """Counts from each service's /metrics that a stall would leave."""
    out: dict[tuple[str, str], float] = {}
    for name, port in PORTS.items():
        token = (STACK / "metrics-token").read_text().strip()  # as the stack's Prometheus scrapes
        asked = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"})
        text = urllib.request.urlopen(asked, timeout=5).read().decode()

        def value(pattern: str, text: str = text) -> float:
            return sum(float(m) for m in re.findall(pattern + r" ([0-9.e+-]+)", text))

        out[(name, "batches")] = value(r'batch_seconds_count\{service="\w+"\}')
        out[(name, "batches over 250 ms")] = out[(name, "batches")] - value(r'batch_seconds_bucket\{le="0.25",[^}]*\}')
        relay = r'outbox_relay_seconds_bucket\{le="{le}",service="\w+",step="\w+"\}'
        out[(name, "relay steps over 250 ms")] = value(relay.replace("{le}", r"\+Inf")) - value(
            relay.replace("{le}", "0.25")
        )
        out[(name, "gc pauses")] = value(r'python_gc_pause_seconds_count\{generation="\d"\}')
        out[(name, "gc pause ms")] = 1000 * value(r'python_gc_pause_seconds_sum\{generation="\d"\}')
    return out


async def run(n_events: int, rate: int, seconds: int, warmup: int) -> None:
    await publish_simulated(n_events, seed=99)
    await wait_caught_up()
    if warmup:
        warm = await latency(rate, warmup)
        print(f"== warm-up, {len(warm):,} events at {rate}/s (not counted): p99={pct(warm, 99):.0f} ms")
    metrics0, cpu0, machine0 = scrape(), cpu_by_process(), machine()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        series_file = Path(tmp) / "series.csv"
        os.environ["BENCH_LATENCY_SERIES"] = str(series_file)
        lat = await latency(rate, seconds, first=rate * warmup)
        series = [tuple(map(float, line.split(","))) for line in series_file.read_text().split()]
    elapsed = time.monotonic() - t0
    metrics1, cpu1, machine1 = scrape(), cpu_by_process(), machine()
    print(
        f"== {len(lat):,} events at {rate}/s: p50={pct(lat, 50):.0f} p95={pct(lat, 95):.0f} p99={pct(lat, 99):.0f} "
        f"max={max(lat):.0f} ms"
    )
    worst: dict[int, float] = {}
    for sent, ms in series:
        worst[int(sent)] = max(worst.get(int(sent), 0.0), ms)
    print("  slowest event sent in each second (ms): " + " ".join(f"{s}:{ms:.0f}" for s, ms in sorted(worst.items())))
    busy, idle, steal = (b - a for a, b in zip(machine0, machine1, strict=True))
    print(
        f"== CPU over the steady phase ({elapsed:.0f} s, incl. the final catch-up): machine busy "
        f"{100 * busy / max(busy + idle, 1):.0f} %, stolen {100 * steal / max(busy + idle + steal, 1):.1f} %"
    )
    tick = os.sysconf("SC_CLK_TCK")
    for name, jiffies in (cpu1 - cpu0).most_common():
        print(f"  {name:<13} {jiffies / tick:6.2f} s = {jiffies / tick / elapsed:.0%} of a core")
    print("== from /metrics over the steady phase")
    for key in metrics1:
        print(f"  {key[0]:<13} {key[1]:<24} {metrics1[key] - metrics0.get(key, 0):10,.0f}")


def main() -> None:
    stack("down")
    shutil.rmtree(STACK, ignore_errors=True)
    stack("up")
    try:
        asyncio.run(
            run(
                int(os.environ.get("BENCH_EVENTS", "100000")),
                int(os.environ.get("BENCH_RATE", "500")),
                int(os.environ.get("BENCH_SECONDS", "20")),
                int(os.environ.get("BENCH_WARMUP_SECONDS", "40")),
            )
        )
    finally:
        stack("down")


if __name__ == "__main__":
    main()
