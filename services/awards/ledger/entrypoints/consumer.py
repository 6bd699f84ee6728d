"""Kafka: each fetched batch of enterprise events through the rules in one transaction,
under the policy versions adopted when that transaction reads them."""

from collections.abc import Sequence

import asyncpg

from services.awards.ledger.service_layer.rules import take_facts
from services.awards.policy.adapters.policy_versions import AdoptedCache
from shared.contract.codec import decode_envelope
from shared.messaging.consumer import BatchHandler, Record


def make_handler(policy: AdoptedCache) -> BatchHandler:
    async def handle(conn: asyncpg.Connection, records: Sequence[Record]) -> None:
        await take_facts(conn, [decode_envelope(r.value) for r in records if r.value is not None], policy)

    return handle
