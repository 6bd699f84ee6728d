"""Talk to the real broker the way upstream systems and auditors do."""

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared.contract import topics
from shared.messaging.kafka import partitions_of, read_topic
from shared.messaging.kafka_settings import KafkaSettings, kafka_options
from tests.support.factories import key_of

Target = KafkaSettings | str  # a secured cluster's settings, or a plain bootstrap address


async def publish(bootstrap: Target, envelopes: Iterable[dict[str, Any]], *, topic: str = topics.INTAKE) -> None:
    producer = AIOKafkaProducer(
        **kafka_options(bootstrap), acks="all", enable_idempotence=True, max_request_size=8 << 20
    )
    await producer.start()
    try:
        for env in envelopes:
            await producer.send_and_wait(topic, json.dumps(env, ensure_ascii=False).encode(), key=key_of(env).encode())
    finally:
        await producer.stop()


async def publish_raw(bootstrap: Target, value: bytes, *, key: bytes | None = None, topic: str = topics.INTAKE) -> None:
    producer = AIOKafkaProducer(**kafka_options(bootstrap), acks="all", max_request_size=8 << 20)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


Record = ConsumerRecord[bytes | None, bytes | None]


async def read_all(bootstrap: Target, topic: str) -> list[Record]:
    """Every record currently in `topic`, from offset 0 to the end, in partition order."""
    return await read_topic(bootstrap, topic, fetch_max_bytes=64 << 20, max_partition_fetch_bytes=16 << 20)


async def wait_for_records(
    bootstrap: Target,
    topic: str,
    match: Callable[[Record], bool],
    *,
    count: int,
    timeout: float = 30.0,
    settle: float = 0.0,
) -> list[Record]:
    """Poll until at least `count` matching records exist; then optionally wait `settle`
    seconds and read again, so a test can also prove that no more arrive."""
    deadline = time.monotonic() + timeout
    found: list[Record] = []
    while time.monotonic() < deadline:
        found = [r for r in await read_all(bootstrap, topic) if match(r)]
        if len(found) >= count:
            break
        await asyncio.sleep(0.3)
    if settle:
        await asyncio.sleep(settle)
        found = [r for r in await read_all(bootstrap, topic) if match(r)]
    return found


def value_json(record: Record) -> dict[str, Any]:
    assert record.value is not None
    return json.loads(record.value)  # type: ignore[no-any-return]


def headers(record: Record) -> dict[str, str]:
    return {k: bytes(v).decode() for k, v in (record.headers or ())}


async def group_lag(bootstrap: Target, group: str, topic_names: Iterable[str]) -> int:
    """Messages in `topic_names` not yet committed by consumer group `group`."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(**kafka_options(bootstrap))
    await admin.start()
    consumer = AIOKafkaConsumer(**kafka_options(bootstrap))
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        parts = [TopicPartition(t, p) for t in topic_names for p in await partitions_of(bootstrap, t)]
        ends = await consumer.end_offsets(parts)
        return sum(ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in parts)
    finally:
        await consumer.stop()
        await admin.close()


async def wait_quiet(bootstrap: Target, groups: dict[str, Iterable[str]], *, timeout: float = 120) -> None:
    """Until every group has consumed everything (twice in a row, the relays having run)."""
    deadline = time.monotonic() + timeout
    calm = 0
    while time.monotonic() < deadline:
        lags = [await group_lag(bootstrap, g, ts) for g, ts in groups.items()]
        calm = calm + 1 if not any(lags) else 0
        if calm >= 3:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"consumers still lagging: {dict(zip(groups, lags, strict=True))}")
