"""What durability costs: commits on a disposable server (no fsync), a durable
one (fsync, full-page writes, WAL archive) and a durable primary with a synchronous
standby, each started fresh under .local/bench-pg-<mode>:

- one writer: the median time of a small transaction (an outbox-sized insert, committed);
- eight writers at once: transactions per second.

    python -m bench.durability          # part of `make bench`
"""

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import asyncpg

from stack.layout import ROOT

MODES = {
    "disposable (PG_DURABLE=0)": {"PG_DURABLE": "0"},
    "durable (fsync, full-page writes, archive)": {"PG_DURABLE": "1"},
    "durable + synchronous standby (PG_STANDBY=1)": {"PG_STANDBY": "1"},
}
ONE_WRITER = 1000
WRITERS, EACH = 8, 500


async def measure(dsn: str) -> dict[str, float]:
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE SCHEMA IF NOT EXISTS bench_commit; CREATE TABLE IF NOT EXISTS bench_commit.t (b bytea)")
    body = os.urandom(600)  # about one award event
    timings = []
    for _ in range(ONE_WRITER):
        t = time.perf_counter()
        async with conn.transaction():
            await conn.execute("INSERT INTO bench_commit.t VALUES ($1)", body)
        timings.append((time.perf_counter() - t) * 1000)
    await conn.close()
    pool = await asyncpg.create_pool(dsn, min_size=WRITERS, max_size=WRITERS)

    async def writer() -> None:
        for _ in range(EACH):
            async with pool.acquire() as c, c.transaction():
                await c.execute("INSERT INTO bench_commit.t VALUES ($1)", body)

    t = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    tps = WRITERS * EACH / (time.perf_counter() - t)
    await pool.close()
    return {"median_ms": statistics.median(timings), "tps": tps}


def one(mode: str) -> None:
    """In a child whose environment chose the mode (stack/postgres.py reads it at import)."""
    from stack.postgres import MIGRATOR, role_dsn, start_postgres, stop_postgres

    start_postgres()
    try:
        print(json.dumps({"mode": mode, **asyncio.run(measure(role_dsn(MIGRATOR)))}))
    finally:
        stop_postgres()


def main() -> None:
    print("PostgreSQL commits by durability (one writer: median; eight writers: transactions/s)")
    for i, (mode, env) in enumerate(MODES.items()):
        directory = ROOT / ".local" / f"bench-pg-{i}"
        shutil.rmtree(directory, ignore_errors=True)
        child = {**os.environ, **env, "STACK_DIR": str(directory), "LOCAL_PG_PORT": str(30532 + 10 * i)}
        out = subprocess.run(
            [sys.executable, "-m", "bench.durability", "--one", mode],
            cwd=ROOT,
            env=child,
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  {mode:<46} one writer {r['median_ms']:.2f} ms   eight writers {r['tps']:,.0f} tx/s")
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one(sys.argv[2])
    else:
        main()
