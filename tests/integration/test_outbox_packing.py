"""The outbox keeps one row per transaction: rows of the old shape (one per message)
survive the upgrade in order, a relay round takes whole rows up to its message budget,
the relay publishes every message of a row to the real broker in order, with its key,
partition and headers, and an old replica's write during the upgrade is retried, not
dead-lettered."""

import asyncio
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from shared.contract.codec import OutgoingMessage
from shared.messaging.consumer import BatchConsumer
from shared.messaging.kafka import TopicSpec, ensure_topics, idempotent_producer, read_topic
from shared.messaging.kafka_settings import KafkaSettings
from shared.messaging.outbox import READ_ROUND, OutboxRelay, enqueue, partition_for, unpack
from shared.process import db
from tests.support.migrations import BEFORE_SHARED_OUTBOX, migrate_as_before
from tests.support.stack import ROOT, Infra

pytestmark = pytest.mark.integration
MIGRATIONS = ROOT / "services" / "registration" / "migrations"
# Registration's migrations when it kept its own outbox, before the outbox was packed.
OWN_OUTBOX = BEFORE_SHARED_OUTBOX / "registration"
PACKING = "0004_outbox_one_row_per_transaction.sql"


def message(i: int, *, key: bytes | None = b"k", topic: str = "t") -> OutgoingMessage:
    return OutgoingMessage(topic, key, f"value {i}".encode(), (("event_type", f"Type{i}".encode()),))


async def test_rows_of_the_old_shape_are_carried_over_in_order(infra: Infra, schema: str, tmp_path: Path) -> None:
    before = tmp_path / "before"
    before.mkdir()
    for sql in sorted(OWN_OUTBOX.glob("*.sql")):
        if sql.name < PACKING:
            shutil.copy(sql, before / sql.name)
    await migrate_as_before(infra.dsn, schema, before)
    conn = await asyncpg.connect(infra.dsn, server_settings={"search_path": schema})
    try:
        await conn.executemany(
            "INSERT INTO outbox (topic, key, value, headers) VALUES ($1, $2, $3, $4::jsonb)",
            [
                ("registration.intake.dlq.v1", b"a", b"first", '[["dlq.error_code", "INVALID_USCC"]]'),
                ("enterprise.events.v1", None, b"second", "[]"),
                ("enterprise.events.v1", b"c", b"third", '[["event_type", "EnterpriseRegistered"]]'),
            ],
        )
        await db.migrate(infra.dsn, schema=schema, directory=MIGRATIONS)
        rows = await conn.fetch(READ_ROUND, 100)
        assert [r["id"] for r in rows] == [1, 2, 3]
        assert [m for r in rows for m in unpack(r)] == [
            ("registration.intake.dlq.v1", b"a", b"first", [("dlq.error_code", b"INVALID_USCC")]),
            ("enterprise.events.v1", None, b"second", []),
            ("enterprise.events.v1", b"c", b"third", [("event_type", b"EnterpriseRegistered")]),
        ]
        assert await conn.fetchval("SELECT sum(messages) FROM outbox") == 3
    finally:
        await conn.close()


async def test_a_round_takes_whole_rows_up_to_its_message_budget(infra: Infra, schema: str) -> None:
    await db.migrate(infra.dsn, schema=schema, directory=MIGRATIONS)
    conn = await asyncpg.connect(infra.dsn, server_settings={"search_path": schema})
    try:
        for first in (0, 3, 6):
            async with conn.transaction():
                await enqueue(conn, [message(i) for i in range(first, first + 3)])
        await enqueue(conn, [])  # nothing to send writes no row
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 3
        picked = {budget: [r["id"] for r in await conn.fetch(READ_ROUND, budget)] for budget in (1, 3, 4, 6, 7, 100)}
        assert picked == {1: [1], 3: [1], 4: [1, 2], 6: [1, 2], 7: [1, 2, 3], 100: [1, 2, 3]}
        rows = await conn.fetch(READ_ROUND, 100)
        assert [m for r in rows for m in unpack(r)] == [
            (m.topic, m.key, m.value, list(m.headers)) for m in (message(i) for i in range(9))
        ]
    finally:
        await conn.close()


async def relay_parts(infra: Infra, schema: str, *, partitions: int) -> tuple[str, asyncpg.Pool, AIOKafkaProducer]:
    """A fresh topic, the migrated schema's pool and a started producer, for a relay."""
    topic = f"test.outbox.{uuid.uuid4().hex[:8]}"
    kafka = KafkaSettings(kafka_bootstrap_servers=infra.bootstrap)
    await ensure_topics(kafka, [topic], TopicSpec(partitions=partitions))
    await db.migrate(infra.dsn, schema=schema, directory=MIGRATIONS)
    pool = await db.create_pool(infra.dsn, schema=schema, max_size=3)
    producer = idempotent_producer(kafka, client_id=f"test-outbox-{topic}")
    await producer.start()
    return topic, pool, producer


async def test_the_relay_publishes_each_message_once_in_order(infra: Infra, schema: str) -> None:
    topic, pool, producer = await relay_parts(infra, schema, partitions=3)
    sent = [message(i, key=f"key-{i % 4}".encode(), topic=topic) for i in range(10)]
    try:
        async with pool.acquire() as conn:
            for first in (0, 4, 7):
                async with conn.transaction():
                    await enqueue(conn, sent[first : first + {0: 4, 4: 3, 7: 3}[first]])
            relay = OutboxRelay(
                pool=pool, producer=producer, service="test", lock_key=1, batch_size=5, idle_sleep_s=0.1
            )
            assert [await relay.relay_once(conn) for _ in range(3)] == [7, 3, 0]  # rows of 4+3, then 3
            assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
    finally:
        await producer.stop()
        await pool.close()
    got = await read_topic(infra.bootstrap, topic)
    assert sorted((r.partition, r.offset, r.key, r.value, tuple(r.headers)) for r in got) == sorted(
        (partition_for(m.key, [0, 1, 2]), offset, m.key, m.value, m.headers)
        for p in range(3)
        for offset, m in enumerate(m for m in sent if partition_for(m.key, [0, 1, 2]) == p)
    )


class CountedRelay(OutboxRelay):
    rounds: list[int]

    async def relay_once(self, conn: asyncpg.Connection) -> int:
        sent = await super().relay_once(conn)
        self.rounds.append(sent)
        return sent


async def test_the_relay_reads_again_at_once_after_a_full_round_and_waits_for_a_commit_after_a_short_one(
    infra: Infra, schema: str
) -> None:
    topic, pool, producer = await relay_parts(infra, schema, partitions=1)
    sent = [message(i, topic=topic) for i in range(10)]
    # No fallback poll within the test: only a commit's NOTIFY wakes the relay.
    relay = CountedRelay(pool=pool, producer=producer, service="test", lock_key=2, batch_size=5, idle_sleep_s=600)
    relay.rounds = []

    async def settled(rounds: int) -> list[int]:
        deadline = time.monotonic() + 20
        while len(relay.rounds) < rounds and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # any read it should not make would be made by now
        return list(relay.rounds)

    try:
        async with pool.acquire() as conn:
            for first, n in ((0, 4), (4, 3)):
                async with conn.transaction():
                    await enqueue(conn, sent[first : first + n])
        running = asyncio.create_task(relay.run())
        assert await settled(2) == [7, 0]  # a full round (7 of a budget of 5): read again at once
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, sent[7:])
        assert await settled(3) == [7, 0, 3]  # woken by the commit; a short round: no read after it
        relay.stop()
        await running
    finally:
        await producer.stop()
        await pool.close()
    assert [r.value for r in await read_topic(infra.bootstrap, topic)] == [m.value for m in sent]


async def test_an_old_replica_against_the_new_schema_retries_instead_of_dead_lettering(
    infra: Infra, schema: str
) -> None:
    """The upgrade's window: an old replica still writes the outbox of the old shape."""
    await db.migrate(infra.dsn, schema=schema, directory=MIGRATIONS)
    pool = await db.create_pool(infra.dsn, schema=schema, max_size=2)

    async def old_code(conn: asyncpg.Connection, records: Sequence[object]) -> None:
        await conn.execute("INSERT INTO outbox (topic, key, value) VALUES ('t', NULL, 'v')")

    record = ConsumerRecord("t", 0, 7, int(time.time() * 1000), 0, b"k", b"v", None, 1, 1, [])
    consumer = BatchConsumer(pool=pool, service="test", dlq_topic="t.dlq", handle=old_code, max_attempts=2)
    try:
        with pytest.raises(asyncpg.UndefinedColumnError):
            await consumer.process([record])  # the batch is rewound and redelivered, not isolated
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox") == 0  # no DLQ entry
    finally:
        await pool.close()
