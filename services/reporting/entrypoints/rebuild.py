"""Drop reporting's state and make it rebuild from offset 0 of its topics (guarantee G4, docs/contract/guarantees.md).

Run with the reporting service stopped; on its next start it re-reads every event.
"""

from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from services.reporting.settings import ReportingSettings
from shared.contract import topics
from shared.messaging.kafka import partitions_of, wait_until_group_empty
from shared.messaging.kafka_settings import kafka_options
from shared.process import db

SERVICE = "reporting"


async def rebuild(settings: ReportingSettings) -> None:
    # Run as the migration role (ops); the service's role gets its grants back on the new schema.
    # A stopped reporting process stays in its group until its session lapses (static
    # membership); the offsets below can be reset only once the group is empty.
    await wait_until_group_empty(settings, SERVICE, timeout_s=settings.kafka_session_timeout_ms / 1000 + 30)
    roles = await db.drop_schema(settings.dsn, SERVICE)
    migrations = Path(__file__).parent.parent / "migrations"
    await db.migrate(settings.dsn, schema=SERVICE, directory=migrations, runtime_roles=roles)
    consumer = AIOKafkaConsumer(**kafka_options(settings), group_id=SERVICE, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics.REPORTING_INPUTS for p in await partitions_of(settings, t)]
        consumer.assign(partitions)
        # A simple (non-member) commit: allowed only while no service instance is in the group.
        await consumer.commit({tp: OffsetAndMetadata(0, "") for tp in partitions})
    finally:
        await consumer.stop()
    print(f"reporting state dropped; offsets of {len(partitions)} partitions reset to 0")
