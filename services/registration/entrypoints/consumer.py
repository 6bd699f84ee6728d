"""Kafka intake: every record of a fetched batch through `IntakeBatch` in one transaction.
A record's topic says who sent it: a sender's own topic (only its principal may write
there) makes it the fact's sender, held to the sender registry like an HTTP sender; the
development intake topic has no sender (docs/contract/topics.md)."""

from collections.abc import Sequence

import asyncpg

from services.registration.adapters.sender_registry import RegistryFile
from services.registration.domain.intake import Incoming
from services.registration.service_layer.intake import IntakeBatch
from shared.contract import topics
from shared.messaging import trace_context
from shared.messaging.consumer import BatchHandler, Record, record_headers


def make_handler(max_bytes: int, registry: RegistryFile | None, *, development_intake: bool = True) -> BatchHandler:
    """`development_intake`: whether the development intake topic is open (never on a
    secured cluster)."""

    def incoming(r: Record) -> Incoming:
        sender, untrusted = topics.intake_origin(r.topic, development_intake=development_intake)
        return Incoming(
            raw=r.value or b"",
            key=r.key,
            headers=record_headers(r),
            topic=r.topic,
            partition=r.partition,
            offset=r.offset,
            sender=sender,
            untrusted=untrusted,
            trace=trace_context.of_record(r),
        )

    async def handle(conn: asyncpg.Connection, records: Sequence[Record]) -> None:
        messages = [incoming(r) for r in records]
        authority = registry.current() if registry is not None else {}  # no registry: no sender is known
        await IntakeBatch(conn, max_bytes=max_bytes, dead_letter=True, registry=authority).run(messages)

    return handle
