"""What the office must redo after the books were restored to an earlier moment: the acts
the award log recorded that the books no longer show (services/awards/domain/redo.py)."""

import asyncpg
import orjson

from services.awards.adapters import bank_books
from services.awards.domain.redo import Redo, to_redo
from shared import topics
from shared.kafka import read_topic
from shared.kafka_settings import KafkaSettings

PEOPLES_ACTS = {"PayoutApproved", "PayoutPaid", "ClawbackSettled", "PayoutCancelled"}


async def redo_list(pool: asyncpg.Pool, kafka: KafkaSettings) -> list[Redo]:
    records = await read_topic(kafka, topics.AWARD_EVENTS)
    events = [
        e
        for e in (orjson.loads(r.value) for r in sorted(records, key=lambda r: r.timestamp))
        if e.get("event_type") in PEOPLES_ACTS
    ]
    async with pool.acquire() as conn:
        books = await bank_books.books_now(conn)
    return to_redo(events, books)
