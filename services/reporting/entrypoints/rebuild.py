"""Drop reporting's state and make it rebuild from offset 0 of its topics (SPEC G4).

Run with the reporting service stopped; on its next start it re-reads every event.
"""

import asyncio
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from services.reporting.app import SERVICE, SOURCE_TOPICS
from services.reporting.settings import ReportingSettings
from shared import db
from shared.kafka import partitions_of
from shared.kafka_settings import kafka_options


async def rebuild(settings: ReportingSettings) -> None:
    conn = await asyncpg.connect(settings.dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SERVICE} CASCADE")
    finally:
        await conn.close()
    await db.migrate(settings.dsn, schema=SERVICE, directory=Path(__file__).parent.parent / "migrations")
    consumer = AIOKafkaConsumer(**kafka_options(settings), group_id=SERVICE, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in SOURCE_TOPICS for p in await partitions_of(settings, t)]
        consumer.assign(partitions)
        # A simple (non-member) commit: allowed only while no service instance is in the group.
        await consumer.commit({tp: OffsetAndMetadata(0, "") for tp in partitions})
    finally:
        await consumer.stop()
    print(f"reporting state dropped; offsets of {len(partitions)} partitions reset to 0")


def main() -> None:
    asyncio.run(rebuild(ReportingSettings()))
