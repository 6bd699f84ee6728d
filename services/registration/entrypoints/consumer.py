"""Kafka intake: every record of a fetched batch through `IntakeBatch` in one transaction."""

from collections.abc import Sequence

import asyncpg

from services.registration.domain.intake import Incoming
from services.registration.service_layer.intake import IntakeBatch
from shared.consumer import BatchHandler, Record, record_headers


def make_handler(max_bytes: int) -> BatchHandler:
    async def handle(conn: asyncpg.Connection, records: Sequence[Record]) -> None:
        messages = [
            Incoming(
                raw=r.value or b"",
                key=r.key,
                headers=record_headers(r),
                topic=r.topic,
                partition=r.partition,
                offset=r.offset,
            )
            for r in records
        ]
        await IntakeBatch(conn, max_bytes=max_bytes, dead_letter=True).run(messages)

    return handle
