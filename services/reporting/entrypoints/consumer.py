"""Kafka: each fetched batch of enterprise, carrier and award events through the
projection in one transaction."""

from collections.abc import Sequence

import asyncpg

from services.reporting.service_layer.projection import project
from shared.contract.incoming import decode
from shared.messaging.consumer import Record


async def handle(conn: asyncpg.Connection, records: Sequence[Record]) -> None:
    decoded = [decode(r.value) for r in records if r.value is not None]
    await project(conn, [e for e in decoded if e is not None])
