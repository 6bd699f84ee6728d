"""Intake errors through the running service: a record that fails reaches the DLQ topic
unchanged with exact headers, the HTTP caller gets the exact 4xx body, an oversized
record and body are refused, and registration keeps consuming afterwards. Which error each
message earns is decided in-process in tests/integration/test_registration_intake.py."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.contract import topics
from tests.support import factories as f
from tests.support.auth import sender
from tests.support.intake_errors import CASES
from tests.support.kafka_io import headers, publish, wait_for_records
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


async def _dlq_entry(stack: Stack, partition: int, offset: int) -> Any:
    found = await wait_for_records(
        stack.bootstrap,
        topics.INTAKE_DLQ,
        lambda r: (
            headers(r).get("dlq.source_offset") == str(offset)
            and headers(r).get("dlq.source_partition") == str(partition)
            and headers(r).get("dlq.source_topic") == topics.INTAKE
        ),
        count=1,
        timeout=30,
    )
    assert len(found) == 1
    return found[0]


async def _send(stack: Stack, value: bytes, key: bytes = b"k") -> tuple[int, int]:
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, max_request_size=8 << 20)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topics.INTAKE, value, key=key)
    finally:
        await producer.stop()
    return meta.partition, meta.offset


async def assert_still_consuming(stack: Stack) -> None:
    uscc = f.new_uscc()
    await publish(stack.bootstrap, [f.enterprise(uscc)])
    out = await wait_for_records(stack.bootstrap, topics.ENTERPRISE_EVENTS, lambda r: r.key == uscc.encode(), count=1)
    assert len(out) == 1


def assert_dlq_headers(record: Any, *, code: str, error: str, partition: int, offset: int) -> None:
    h = headers(record)
    failed_at = datetime.fromisoformat(h.pop("dlq.failed_at"))
    assert timedelta(0) <= datetime.now(UTC) - failed_at < timedelta(minutes=2)
    assert h == {
        "dlq.error_code": code,
        "dlq.error": error,
        "dlq.service": "registration",
        "dlq.source_topic": topics.INTAKE,
        "dlq.source_partition": str(partition),
        "dlq.source_offset": str(offset),
    }


async def test_an_error_reaches_the_dlq_topic_unchanged_and_the_http_caller(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    """The wiring, with one error: the record on the DLQ topic as the relay sent it, the
    HTTP answer through the route. Every code is decided in-process in
    tests/integration/test_registration_intake.py."""
    _, raw, code, error, status, body = CASES[0]
    partition, offset = await _send(stack, raw)
    record = await _dlq_entry(stack, partition, offset)
    assert record.value == raw  # unchanged
    assert record.key == b"k"
    assert_dlq_headers(record, code=code, error=error, partition=partition, offset=offset)

    r = await client.post(
        f"{stack.url('registration')}/v1/events", content=raw, headers={"content-type": "application/json", **sender()}
    )
    assert (r.status_code, r.json()) == (status, body)
    await assert_still_consuming(stack)


async def test_too_large_over_kafka_and_http(stack: Stack, client: httpx.AsyncClient) -> None:
    raw = json.dumps(f.enterprise(f.new_uscc(), name="大" * 100)).encode() + b" " * (5 << 20)  # 5 MB
    partition, offset = await _send(stack, raw)
    record = await _dlq_entry(stack, partition, offset)
    assert record.value == raw
    assert_dlq_headers(
        record,
        code="TOO_LARGE",
        error=f"message of {len(raw)} bytes exceeds the limit of 1048576",
        partition=partition,
        offset=offset,
    )
    r = await client.post(f"{stack.url('registration')}/v1/events", content=raw, headers=sender())
    assert (r.status_code, r.json()) == (
        413,
        {"error_code": "TOO_LARGE", "message": "body exceeds 1048576 bytes", "errors": []},
    )
    await assert_still_consuming(stack)
