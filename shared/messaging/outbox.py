"""Transactional outbox: messages written with the state change, relayed to Kafka afterwards.

One row per enqueue (a whole batch's messages, in order, in parallel arrays), not per
message: a row costs PostgreSQL a tuple, an index entry and a sequence step. A crash
between publish and delete re-publishes; consumers dedup by event_id. One relay per
service holds a session advisory lock so rows leave in id order, messages in row order.
"""

import asyncio
import logging
import random
import time
from collections.abc import Sequence

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from murmurhash2 import murmurhash2
from prometheus_client import Counter, Histogram

from shared.contract import topics
from shared.contract.codec import OutgoingMessage, dumps
from shared.messaging import trace_context

log = logging.getLogger(__name__)

Pending = tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]  # topic, key, value, headers

RELAYED = Counter("outbox_relayed_total", "Outbox messages published to Kafka", ["service"])
RELAY_SECONDS = Histogram(
    "outbox_relay_seconds",
    "One relay round: reading the rows, sending them (until acked), deleting them",
    ["service", "step"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
DLQ_PUBLISHED = Counter(
    "dlq_published_total", "Messages published to a dead-letter topic", ["service", "topic", "error_code"]
)


def channel(schema: str) -> str:
    return f"outbox_{schema}"


async def enqueue(conn: asyncpg.Connection, messages: Sequence[OutgoingMessage]) -> None:
    """One row for the whole batch (its messages in order); the table's trigger wakes the
    relay at commit instead of at its next poll."""
    if not messages:
        return
    as_json: dict[tuple[tuple[str, bytes], ...], str] = {}  # a batch repeats a few header sets
    for m in messages:
        if m.headers not in as_json:
            as_json[m.headers] = dumps([[k, v.decode("utf-8", "replace")] for k, v in m.headers]).decode()
    await conn.execute(
        "INSERT INTO outbox (messages, topics, keys, payloads, headers) VALUES ($1, $2, $3, $4, $5)",
        len(messages),
        [m.topic for m in messages],
        [m.key for m in messages],
        [m.value for m in messages],
        [as_json[m.headers] for m in messages],
    )


class OutboxRelay:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        service: str,
        lock_key: int,
        batch_size: int,
        idle_sleep_s: float,
    ) -> None:
        """`idle_sleep_s` is the fallback poll: a commit that enqueues wakes the relay at once."""
        self._pool = pool
        self._producer = producer
        self._service = service
        self._lock_key = lock_key
        self._batch_size = batch_size
        self._idle_sleep_s = idle_sleep_s
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                async with self._pool.acquire() as conn:
                    await self._run_holding_lock(conn)
            except asyncio.CancelledError:
                raise
            except Exception:  # the relay must outlive any broker or database failure
                log.exception("outbox relay of %s failed; retrying in 1 s (rows stay in the outbox)", self._service)
                await asyncio.sleep(1)

    async def _run_holding_lock(self, conn: asyncpg.Connection) -> None:
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
            if await self._sleep(0.5):
                return
        listening = channel(await conn.fetchval("SELECT current_schema()"))
        await conn.add_listener(listening, self._notified)
        try:
            while not self._stopping.is_set():
                self._wake.clear()  # before the read: a commit after it wakes the next sleep
                sent = await self.relay_once(conn)
                # A round short of the batch size took every row there was (READ_ROUND stops
                # early only past it): the next read waits for a commit's wake, instead of
                # costing each consumed batch a second, empty read.
                if sent < self._batch_size and await self._sleep(self._idle_sleep_s, wake=True):
                    return
        finally:
            await conn.remove_listener(listening, self._notified)
            await conn.execute("SELECT pg_advisory_unlock($1)", self._lock_key)

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def _sleep(self, seconds: float, *, wake: bool = False) -> bool:
        """Sleep up to `seconds` (less if woken by a commit); True when stopping."""
        waits = [asyncio.ensure_future(self._stopping.wait())]
        if wake:
            waits.append(asyncio.ensure_future(self._wake.wait()))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        return self._stopping.is_set()

    async def relay_once(self, conn: asyncpg.Connection) -> int:
        started = time.perf_counter()
        rows = await conn.fetch(READ_ROUND, self._batch_size)
        if not rows:
            return 0
        read = time.perf_counter()
        pending, spans = trace_context.producing(self._service, [m for row in rows for m in unpack(row)])
        await asyncio.gather(*await self._send(pending))  # acks=all for every message before any is forgotten
        sent = time.perf_counter()
        for span in spans:
            span.end()
        await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows])
        done = time.perf_counter()
        for step, seconds in (("read", read - started), ("send", sent - read), ("delete", done - sent)):
            RELAY_SECONDS.labels(self._service, step).observe(seconds)
        RELAYED.labels(self._service).inc(len(pending))
        for topic, _, _, headers in pending:
            if topic in topics.DLQS:
                code = next((v.decode() for k, v in headers if k == "dlq.error_code"), "")
                DLQ_PUBLISHED.labels(self._service, topic, code).inc()
        return len(pending)

    async def _send(self, messages: Sequence[Pending]) -> list[asyncio.Future[object]]:
        """Messages as whole batches per partition, in outbox order within each: a third of
        the CPU of one send() per message. Partitions as send() would pick them (murmur2 of the key)."""
        by_partition: dict[tuple[str, int], list[Pending]] = {}
        partitions = {t: sorted(await self._producer.partitions_for(t)) for t in {m[0] for m in messages}}
        for m in messages:
            by_partition.setdefault((m[0], partition_for(m[1], partitions[m[0]])), []).append(m)
        futures = []
        for (topic, part), in_order in by_partition.items():
            batch = self._producer.create_batch()
            for _, key, value, headers in in_order:
                if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    futures.append(await self._producer.send_batch(batch, topic, partition=part))
                    batch = self._producer.create_batch()
                    # A fresh batch always takes its first record, whatever its size.
                    if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                        raise RuntimeError(f"an outbox message of {len(value):,} bytes does not fit an empty batch")
            futures.append(await self._producer.send_batch(batch, topic, partition=part))
        return futures


# Whole rows in id order, as many as keep the round near `$1` messages (always one at least).
READ_ROUND = """
SELECT id, topics, keys, payloads, headers FROM outbox
WHERE id <= (SELECT max(id) FROM (
    SELECT id, sum(messages) OVER (ORDER BY id) - messages AS before
    FROM (SELECT id, messages FROM outbox ORDER BY id LIMIT $1) first_rows
) counted WHERE before < $1)
ORDER BY id
"""


def unpack(row: asyncpg.Record) -> list[Pending]:
    parsed: dict[str, list[tuple[str, bytes]]] = {}
    for text in row["headers"]:
        if text not in parsed:
            parsed[text] = [(k, v.encode()) for k, v in orjson.loads(text)]
    return [
        (topic, key, value, parsed[text])
        for topic, key, value, text in zip(row["topics"], row["keys"], row["payloads"], row["headers"], strict=True)
    ]


KAFKA_MURMUR2_SEED = 0x9747B28C


def partition_for(key: bytes | None, partitions: list[int]) -> int:
    """The partition Kafka's default partitioner (Java's and aiokafka's) picks for `key`:
    murmur2 in C, a tenth of aiokafka's pure-Python one, which was 9 % of registration's CPU."""
    if key is None:
        return random.choice(partitions)
    return partitions[(murmurhash2(key, KAFKA_MURMUR2_SEED) & 0x7FFFFFFF) % len(partitions)]
