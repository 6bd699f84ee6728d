"""What the audit trail's hash chain costs (awards migration 0009): the same appends to a
schema without the chain and to one with it — one writer, then eight at once — and how
long an approval waits while another transaction holds the chain's lock, as the rules'
transaction does when a reversal writes audit rows.

    python -m bench.audit_chain            # or as part of `make bench`
"""

import asyncio
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from bench.bench_stack import DSN, stack
from services.awards.audit.adapters import audit_trail
from services.awards.audit.domain.audit import Actor
from shared.process import db
from stack.layout import ROOT

MIGRATIONS = ROOT / "services" / "awards" / "migrations"
CHAIN = "0009_audit_hash_chain.sql"
ACTOR = Actor("bench", "Bench", ("approver",), "bench", "127.0.0.1", "POST", "/v1/approvals")
TRANSACTIONS = 2000


async def _schema(dsn: str, chained: bool) -> tuple[str, asyncpg.Pool]:
    schema = f"audit_bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        chosen = Path(tmp)
        for sql in sorted(MIGRATIONS.glob("*.sql")):
            if chained or sql.name < CHAIN:
                shutil.copy(sql, chosen / sql.name)
        await db.migrate(dsn, schema=schema, directory=chosen)
    return schema, await db.create_pool(dsn, schema=schema, max_size=8)


async def _append(pool: asyncpg.Pool, rows: int = 2) -> float:
    t = time.perf_counter()
    async with pool.acquire() as conn, conn.transaction():
        await audit_trail.append(
            conn, ACTOR, [("payout.approve", f"p-{i}", {"amount_cny": 100_000}) for i in range(rows)]
        )
    return (time.perf_counter() - t) * 1000


async def _measure(pool: asyncpg.Pool, writers: int) -> tuple[float, float]:
    """(median ms per transaction, transactions per second) for `writers` at once."""
    per_writer = TRANSACTIONS // writers
    took: list[float] = []

    async def writer() -> None:
        for _ in range(per_writer):
            took.append(await _append(pool))

    t = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    return statistics.median(took), per_writer * writers / (time.perf_counter() - t)


async def _held_lock_wait(pool: asyncpg.Pool, hold_ms: float) -> float:
    """How long an approval's audit append waits while another transaction has appended
    and keeps working for `hold_ms` before it commits."""
    async with pool.acquire() as conn, conn.transaction():
        await audit_trail.append(conn, ACTOR, [("clawback.raise", "p-held", {"amount_cny": 100_000})])
        waiter = asyncio.ensure_future(_append(pool, 1))
        await asyncio.sleep(hold_ms / 1000)
    return await waiter


async def audit_chain_cost(dsn: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for chained in (False, True):
        schema, pool = await _schema(dsn, chained)
        label = "chained" if chained else "plain"
        try:
            for writers in (1, 8):
                median_ms, tps = await _measure(pool, writers)
                out[f"{label}_{writers}_ms"], out[f"{label}_{writers}_tps"] = median_ms, tps
                print(f"  audit appends, {label:<7} {writers} writer(s): {median_ms:5.2f} ms median, {tps:7,.0f} tx/s")
            if chained:
                waited = await _held_lock_wait(pool, 50)
                out["wait_behind_50ms_ms"] = waited
                print(f"  an approval behind a transaction that holds the chain 50 ms: waited {waited:.0f} ms")
        finally:
            await pool.close()
            conn = await asyncpg.connect(dsn)
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
            await conn.close()
    return out


def main() -> None:
    stack("infra")
    try:
        asyncio.run(audit_chain_cost(DSN))
    finally:
        stack("down")


if __name__ == "__main__":
    main()
