"""Kafka: each fetched batch of enterprise, carrier and award events through the
projection in one transaction."""

from collections.abc import Sequence

import asyncpg

from services.reporting.service_layer.projection import project
from shared.contract.codec import decode_envelope
from shared.messaging.consumer import Record


async def handle(conn: asyncpg.Connection, records: Sequence[Record]) -> None:
    await project(conn, [decode_envelope(r.value) for r in records if r.value is not None])
