"""Kafka: each fetched batch of enterprise events through the rules in one transaction."""

from collections.abc import Sequence

import asyncpg

from services.awards.domain.policy import Policy
from services.awards.service_layer.rules import take_facts
from shared.codec import decode_envelope
from shared.consumer import BatchHandler, Record


def make_handler(policy: Policy) -> BatchHandler:
    async def handle(conn: asyncpg.Connection, records: Sequence[Record]) -> None:
        await take_facts(conn, [decode_envelope(r.value) for r in records if r.value is not None], policy)

    return handle
