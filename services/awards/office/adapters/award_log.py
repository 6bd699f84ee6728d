"""The award log as published (award.events.v1), read from its beginning to its end."""

from typing import Any

import orjson

from shared.contract import topics
from shared.messaging.kafka import read_topic
from shared.messaging.kafka_settings import KafkaSettings


async def award_events(kafka: KafkaSettings, event_types: frozenset[str]) -> list[dict[str, Any]]:
    """Every award event of `event_types`, in the order they were published."""
    records = await read_topic(kafka, topics.AWARD_EVENTS)
    in_order = (orjson.loads(r.value) for r in sorted(records, key=lambda r: (r.timestamp, r.partition, r.offset)))
    return [e for e in in_order if e.get("event_type") in event_types]
