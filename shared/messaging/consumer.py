"""Idempotent batch consumption: one transaction per batch, offsets only after commit.

The FastStream subscriber runs with AckPolicy.NACK_ON_ERROR: a handler that returns
commits the batch's positions (every record of it was processed in the committed
transaction); one that raises rewinds every partition of the batch (faststream 0.7.8
`KafkaAckableMessage.nack`). Infrastructure errors raise, after a pause, so the batch
is redelivered; a message that fails on its own after bounded attempts goes to the
consumer's DLQ through the outbox, so nothing is skipped silently.
"""

import asyncio
import collections
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import Topic
from faststream.kafka.annotations import KafkaMessage
from faststream.params import NoCast
from prometheus_client import Counter, Histogram

from shared.contract.enums import IntakeError
from shared.messaging import consumer_positions, outbox, trace_context
from shared.messaging.dlq import dlq_message
from shared.process.db import unit_of_work
from shared.process.failpoints import crash_point
from shared.process.metrics import OLDEST_UNPROCESSED

if TYPE_CHECKING:
    from shared.process.runtime import ServiceRuntime

log = logging.getLogger(__name__)

Record: TypeAlias = "ConsumerRecord[bytes | None, bytes]"
BatchHandler = Callable[[asyncpg.Connection, Sequence[Record]], Awaitable[None]]

CONSUMED = Counter("consumed_messages_total", "Messages consumed and committed", ["service", "topic"])
BATCH_SECONDS = Histogram(
    "batch_seconds",
    "Time to process and commit one batch",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
BATCH_SIZE = Histogram(
    "batch_size", "Records per consumed batch", ["service"], buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000)
)
DEAD_LETTERED = Counter("dead_lettered_total", "Messages sent to a DLQ", ["service", "error_code"])
BATCH_FAILURES = Counter(
    "batch_failures_total",
    "Batches that failed: transient (redelivered after a pause) or isolated (retried message by message)",
    ["service", "kind"],
)


# Transient: the batch is redelivered after a pause instead of being blamed on a message
# (deadlocks and serialization failures included: replicas may race during a rebalance;
# a missing table or column is an old replica running against a newer schema).
class NotYet(Exception):
    """A handler cannot decide this batch yet (e.g. awards' books are behind the award log's
    policy versions after a restore): redelivered after a pause, never dead-lettered."""


INFRA_ERRORS: tuple[type[BaseException], ...] = (
    NotYet,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TransactionRollbackError,
    asyncpg.UndefinedTableError,
    asyncpg.UndefinedColumnError,
)


def record_headers(record: Record) -> tuple[tuple[str, bytes], ...]:
    return tuple((k, bytes(v)) for k, v in (record.headers or ()))


class BatchConsumer:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        service: str,
        dlq_topic: str,
        handle: BatchHandler,
        max_attempts: int,
        retry_pause_s: float = 0.2,
        begins_traces: bool = False,
    ) -> None:
        self._pool = pool
        self._service = service
        self._dlq_topic = dlq_topic
        self._handle = handle
        self._max_attempts = max_attempts
        self._retry_pause_s = retry_pause_s
        self._begins_traces = begins_traces

    async def process(self, records: Sequence[Record]) -> None:
        if not records:
            return
        BATCH_SIZE.labels(self._service).observe(len(records))
        started = time.perf_counter()
        oldest_ms = min(r.timestamp for r in records)
        OLDEST_UNPROCESSED.labels(self._service).set(max(0.0, time.time() - oldest_ms / 1000))
        try:
            with trace_context.consuming(self._service, records, begins_traces=self._begins_traces):
                await self._in_transaction(records)
        except INFRA_ERRORS:
            BATCH_FAILURES.labels(self._service, "transient").inc()
            await asyncio.sleep(1)  # a nack re-delivers at once (faststream #1721): back off
            raise
        except Exception:
            BATCH_FAILURES.labels(self._service, "isolated").inc()
            log.exception("%s: batch of %d failed; isolating", self._service, len(records))
            for record in records:
                with trace_context.consuming(self._service, [record], begins_traces=self._begins_traces):
                    await self._process_alone(record)
        OLDEST_UNPROCESSED.labels(self._service).set(0)
        BATCH_SECONDS.labels(self._service).observe(time.perf_counter() - started)
        for topic, n in collections.Counter(r.topic for r in records).items():
            CONSUMED.labels(self._service, topic).inc(n)
        crash_point(self._service)

    async def _in_transaction(self, records: Sequence[Record]) -> None:
        async with unit_of_work(self._pool) as conn:
            await self._handle(conn, records)
            await consumer_positions.record(conn, records)

    async def _process_alone(self, record: Record) -> None:
        error: Exception | None = None
        for attempt in range(self._max_attempts):
            try:
                await self._in_transaction([record])
                return
            except INFRA_ERRORS:
                await asyncio.sleep(1)
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of this one message counts
                error = exc
                await asyncio.sleep(self._retry_pause_s * (2**attempt))
        log.error("%s: %s[%d]@%d to DLQ: %r", self._service, record.topic, record.partition, record.offset, error)
        message = dlq_message(
            dlq_topic=self._dlq_topic,
            service=self._service,
            error_code=IntakeError.PROCESSING_FAILED,
            error=f"failed {self._max_attempts} times: {error!r}",
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            key=record.key,
            value=record.value,
            original_headers=trace_context.with_trace(record_headers(record), trace_context.of_record(record)),
        )
        async with unit_of_work(self._pool) as conn:
            await outbox.enqueue(conn, [message])
            await consumer_positions.record(conn, [record])
        DEAD_LETTERED.labels(self._service, IntakeError.PROCESSING_FAILED).inc()


async def _raw_body(message: Any) -> None:
    return None


def _poll_without_pause(subscriber: Any, timeout_ms: int) -> None:
    """An empty poll goes straight back to waiting. FastStream's batch subscriber sleeps its
    timeout after one (faststream 0.7 `BatchSubscriber.get_msg`): with a short timeout an
    idle service woke fifty times a second (~4 % of a core each, in every process of every
    stack), with a long one a fact arriving during the sleep would wait it out. `getmany`
    returns as soon as records arrive, so a long wait inside it costs no latency."""
    max_records = subscriber.max_records

    async def get_msg(consumer: Any) -> tuple[Record, ...]:
        fetched = await consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        return tuple(itertools.chain.from_iterable(fetched.values()))

    subscriber.get_msg = get_msg


def subscribe_batches(
    runtime: "ServiceRuntime",
    *,
    topics: Sequence[str],
    dlq_topic: str,
    handle: BatchHandler,
    pattern: str | None = None,
    begins_traces: bool = False,
) -> None:
    """Register the service's batch subscriber (consumer group = service name): `topics`,
    or every topic matching `pattern` (which should match `topics` too)."""
    settings = runtime.settings
    runtime.consumed_topics.extend(topics)
    runtime.consumed_pattern = pattern
    consumers: list[BatchConsumer] = []

    def consumer() -> BatchConsumer:  # the pool exists only once the runtime has started
        if not consumers:
            consumers.append(
                BatchConsumer(
                    pool=runtime.pool,
                    service=runtime.name,
                    dlq_topic=dlq_topic,
                    handle=handle,
                    max_attempts=settings.max_attempts,
                    begins_traces=begins_traces,
                )
            )
        return consumers[0]

    subscribed: list[Any] = []  # the subscriber, whose aiokafka consumer the listener seeks
    subscriber = runtime.broker.subscriber(
        # Provisioned by the ops principal (ops/kafka_admin.py): FastStream would otherwise
        # try to create them, with one partition, under the service's principal.
        *([] if pattern else [Topic(t, declare=False) for t in topics]),
        pattern=pattern,
        group_id=runtime.name,
        batch=True,
        max_records=settings.batch_max_records,
        batch_timeout_ms=settings.batch_timeout_ms,
        auto_offset_reset="earliest",  # a new group must not skip history
        ack_policy=AckPolicy.NACK_ON_ERROR,
        max_partition_fetch_bytes=8 << 20,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        group_instance_id=settings.kafka_group_instance_id,
        heartbeat_interval_ms=min(3000, settings.kafka_session_timeout_ms // 3),  # aiokafka's 3 s at most
        decoder=_raw_body,  # handlers read the raw records; skip FastStream's body decoding
        # Each partition starts where this service's books are (a restored database rewinds).
        listener=consumer_positions.StartFromTheBooks(
            runtime.name, lambda: runtime.pool, lambda: getattr(subscribed[0], "consumer", None)
        ),
    )
    subscribed.append(subscriber)
    _poll_without_pause(subscriber, settings.batch_timeout_ms)

    @subscriber
    async def _on_batch(body: NoCast[Any], message: KafkaMessage) -> None:
        records: tuple[Record, ...] = message.raw_message  # type: ignore[assignment,unused-ignore]
        await consumer().process(records)
