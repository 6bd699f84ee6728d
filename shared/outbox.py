"""Transactional outbox: rows written with the state change, relayed to Kafka afterwards.

A crash between publish and delete re-publishes; consumers dedup by event_id. One
relay per service holds a session advisory lock so rows leave in commit order.
"""

import asyncio
import logging
from collections.abc import Sequence

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Gauge

from shared.codec import OutgoingMessage, dumps

log = logging.getLogger(__name__)

RELAYED = Counter("outbox_relayed_total", "Outbox rows published to Kafka", ["service"])
PENDING = Gauge("outbox_pending", "Outbox rows waiting for the relay", ["service"])


async def enqueue(conn: asyncpg.Connection, messages: Sequence[OutgoingMessage]) -> None:
    if not messages:
        return
    await conn.copy_records_to_table(
        "outbox",
        columns=["topic", "key", "value", "headers"],
        records=[
            (m.topic, m.key, m.value, dumps([[k, v.decode("utf-8", "replace")] for k, v in m.headers]).decode())
            for m in messages
        ],
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
        self._pool = pool
        self._producer = producer
        self._service = service
        self._lock_key = lock_key
        self._batch_size = batch_size
        self._idle_sleep_s = idle_sleep_s
        self._stopping = asyncio.Event()

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
        try:
            while not self._stopping.is_set():
                sent = await self.relay_once(conn)
                if sent == 0 and await self._sleep(self._idle_sleep_s):
                    return
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", self._lock_key)

    async def _sleep(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def relay_once(self, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(
            "SELECT id, topic, key, value, headers FROM outbox ORDER BY id LIMIT $1", self._batch_size
        )
        if not rows:
            PENDING.labels(self._service).set(0)
            return 0
        futures = []
        for row in rows:
            headers = [(k, v.encode()) for k, v in _json_list(row["headers"])]
            futures.append(await self._producer.send(row["topic"], value=row["value"], key=row["key"], headers=headers))
        await asyncio.gather(*futures)  # acks=all for every row before any is forgotten
        await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows])
        RELAYED.labels(self._service).inc(len(rows))
        return len(rows)


def _json_list(raw: str | list[list[str]]) -> list[list[str]]:
    return orjson.loads(raw) if isinstance(raw, str) else raw
