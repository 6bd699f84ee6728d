"""A consumer's positions kept in its own schema, beside the effects of what it consumed
(table `consumer_positions`, one migration per service): written in the batch's
transaction, read when partitions are assigned. After a restore of the database to an
earlier moment the consumer rewinds to where its books are, not to where Kafka's committed
offsets are, and the idempotent handlers apply the gap exactly once."""

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)


def next_offsets(records: Iterable[Any]) -> dict[tuple[str, int], int]:
    """(topic, partition) -> the offset after the last of `records` there."""
    out: dict[tuple[str, int], int] = {}
    for r in records:
        key = (r.topic, r.partition)
        out[key] = max(out.get(key, 0), r.offset + 1)
    return out


async def record(conn: asyncpg.Connection, records: Sequence[Any]) -> None:
    """In the caller's transaction; never backwards (a replica's stale batch in a rebalance)."""
    await _write(conn, next_offsets(records), "DO UPDATE SET next_offset = "
                 "greatest(consumer_positions.next_offset, excluded.next_offset)")  # fmt: skip


async def _write(
    db: asyncpg.Connection | asyncpg.Pool, positions: dict[tuple[str, int], int], on_conflict: str
) -> None:
    if positions:
        await db.execute(
            "INSERT INTO consumer_positions (topic, partition, next_offset) "
            f"SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[]) ON CONFLICT (topic, partition) {on_conflict}",
            [t for t, _ in positions],
            [p for _, p in positions],
            list(positions.values()),
        )


async def stored(pool: asyncpg.Pool, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
    wanted = list(partitions)
    rows = await pool.fetch(
        "SELECT topic, partition, next_offset FROM consumer_positions "
        "WHERE (topic, partition) IN (SELECT * FROM unnest($1::text[], $2::int[]))",
        [tp.topic for tp in wanted],
        [tp.partition for tp in wanted],
    )
    return {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}


class StartFromTheBooks(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, each partition the books know starts where the books say."""

    def __init__(self, service: str, pool: Any, consumer: Any) -> None:
        self._service = service
        self._pool = pool  # () -> asyncpg.Pool: the pool exists once the runtime has started
        self._consumer = consumer  # () -> AIOKafkaConsumer | None

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        consumer = self._consumer()
        if not assigned or consumer is None:
            return
        try:
            positions = await stored(self._pool(), assigned)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # The database is down: consume from Kafka's offsets; the handlers are idempotent.
            log.warning("%s: positions not read (%r): starting from Kafka's offsets", self._service, exc)
            return
        for tp, offset in positions.items():
            consumer.seek(tp, offset)
        if positions:
            log.info("%s: %d partition(s) start where the books are", self._service, len(positions))
        # A partition the books have no row for: Kafka's committed offset goes into the books
        # now, so a restore to a later moment does not fall back on Kafka's later offsets.
        # Bounded: a rebalance during a broker fault must not wait on it (the next one retries).
        unseen = [tp for tp in assigned if tp not in positions]
        if not unseen:
            return
        try:
            offsets = await asyncio.wait_for(asyncio.gather(*(consumer.committed(tp) for tp in unseen)), 3)
            await remember(self._pool(), {tp: offset or 0 for tp, offset in zip(unseen, offsets, strict=True)})
        except (TimeoutError, OSError, KafkaError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("%s: first positions not recorded (%r); the next assignment records them", self._service, exc)


async def remember(pool: asyncpg.Pool, positions: dict[TopicPartition, int]) -> None:
    """Positions for partitions the books have no row for; a row already there wins (after a
    restore it is behind Kafka on purpose)."""
    await _write(pool, {(tp.topic, tp.partition): offset for tp, offset in positions.items()}, "DO NOTHING")
