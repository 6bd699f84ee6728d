"""`python -m bench.profile`: where an end-to-end run spends its CPU, from profiles.

PROFILE_GIL=1 samples only the thread that holds the GIL.
PROFILE_TRACING=0.1 runs the services with tracing on at that ratio of new traces (and a
Zipkin server up), to see what tracing costs where.

Starts the bench stack, then publishes BENCH_EVENTS simulated intake events while
py-spy samples each service (no native frames, 97 Hz) until every group has caught up,
and prints per service the functions with the most samples (own time, and time
including callees), then PostgreSQL's statements by total execution time
(pg_stat_statements, reset just before the run).
"""

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import asyncpg

from bench.bench_stack import DSN, GROUPS, HANDLE, STACK, publish_simulated, stack, wait_caught_up
from bench.tracing import with_zipkin

TOP = int(os.environ.get("PROFILE_TOP", "25"))


def frames(line: str) -> list[str]:
    stack_part = line.rsplit(" ", 1)[0]
    return [
        f.split(" (")[0] + " " + f.split("(")[-1].split(":")[0].rsplit("/", 1)[-1].rstrip(")")
        for f in stack_part.split(";")
    ]


def summarize(name: str, raw: Path) -> None:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        count = int(line.rsplit(" ", 1)[1])
        fs = frames(line)
        if fs[-1] == "_worker thread.py":
            continue  # an idle thread-pool worker waiting on its queue, not work
        total += count
        own[fs[-1]] += count
        for f in set(fs):
            inclusive[f] += count
    print(f"== {name}: {total:,} samples")
    print("   own%  incl%  function (file)")
    for f, n in own.most_common(TOP):
        print(f"  {100 * n / total:5.1f} {100 * inclusive[f] / total:6.1f}  {f}")
    print("   -- most inclusive --")
    for f, n in inclusive.most_common(TOP):
        print(f"  {100 * own[f] / total:5.1f} {100 * n / total:6.1f}  {f}")


def start_spies(out: Path) -> dict[str, subprocess.Popen[bytes]]:
    return {
        name: subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--format",
                "raw",
                "--rate",
                "97",
                "--pid",
                (STACK / "run" / f"{name}.pid").read_text().strip(),
                "--output",
                str(out / f"{name}.txt"),
                # PROFILE_GIL=1: only the thread holding the GIL is sampled (CPU in Python, not
                # a thread waiting for its turn, which plain sampling counts as busy).
                *(["--gil"] if os.environ.get("PROFILE_GIL") == "1" else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in GROUPS
    }


async def run(n_events: int) -> None:
    conn = await asyncpg.connect(DSN)
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    await conn.execute("SELECT pg_stat_statements_reset()")
    out = Path(tempfile.mkdtemp(prefix="profile-"))
    spies = start_spies(out)
    n, _ = await publish_simulated(n_events, seed=97)
    await wait_caught_up()
    for spy in spies.values():
        spy.send_signal(2)  # SIGINT: py-spy writes what it has
    for spy in spies.values():
        spy.wait(timeout=60)
    print(f"== {n:,} intake events end to end")
    for name in GROUPS:
        summarize(name, out / f"{name}.txt")
    rows = await conn.fetch(
        "SELECT calls, total_exec_time, rows, regexp_replace(query, '\\s+', ' ', 'g') AS q "
        "FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1",
        TOP,
    )
    total = await conn.fetchval("SELECT sum(total_exec_time) FROM pg_stat_statements")
    print(f"== PostgreSQL: {total / 1000:.1f}s of statement time, {1000 * total / n:.0f} µs per intake event")
    print("   ms      %   calls     rows  statement")
    for r in rows:
        ms, share = r["total_exec_time"], 100 * r["total_exec_time"] / total
        print(f"  {ms:8.0f} {share:5.1f} {r['calls']:7,} {r['rows']:8,}  {r['q'][:150]}")
    await conn.close()


def main() -> None:
    stack("down")
    shutil.rmtree(STACK, ignore_errors=True)  # fresh topics: a re-run's events would all be duplicates
    ratio = os.environ.get("PROFILE_TRACING")
    if ratio:
        with_zipkin()
        HANDLE.env.update({"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_SAMPLER_ARG": ratio})
    stack("up")
    try:
        asyncio.run(run(int(os.environ.get("BENCH_EVENTS", "100000"))))
    finally:
        stack("down")


if __name__ == "__main__":
    main()
