"""Bounded dedup state: processed-event marks older than the retention are dropped.

A mark only has to outlive every way the same event can come back: a redelivered batch
(seconds), an outbox re-publish after a crash (seconds to minutes). Past that, the mark
is dead weight — ~90 MB per million events in each consumer. `rebuild` starts from an
empty schema, so it needs none of the old marks either. The BRIN index on processed_at
(migration) keeps the sweep cheap without slowing inserts.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg

log = logging.getLogger(__name__)

PoolGetter = Callable[[], asyncpg.Pool]
Job = Callable[[], Awaitable[None]]


async def prune_processed(conn: asyncpg.Connection, *, older_than: timedelta, chunk: int = 20_000) -> int:
    """Delete marks older than `older_than`, `chunk` rows per statement; return how many."""
    total = 0
    while True:
        status = await conn.execute(
            "DELETE FROM processed_events WHERE event_id = ANY(ARRAY("
            "SELECT event_id FROM processed_events WHERE processed_at < clock_timestamp() - $1::interval LIMIT $2))",
            older_than,
            chunk,
        )
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < chunk:
            return total
        await asyncio.sleep(0.1)  # let the consumers' batches through between chunks


def pruning_job(pool_of: PoolGetter, *, retention_days: float, every_s: float = 3600) -> Job:
    async def job() -> None:
        async with pool_of().acquire() as conn:
            pruned = await prune_processed(conn, older_than=timedelta(days=retention_days))
        if pruned:
            log.info("pruned %d processed-event marks older than %g days", pruned, retention_days)
        await asyncio.sleep(every_s)

    return job
