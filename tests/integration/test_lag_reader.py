"""Consumer-group lag on the real broker, over as many topics as a platform with a hundred
senders has (registration reads every sender's intake topic)."""

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.messaging.lag import LagReader
from tests.support.stack import Infra

pytestmark = pytest.mark.integration

TOPICS = 120  # one metadata round each took 12 s at the least, over the 10 s request timeout


async def test_lag_over_a_hundred_and_twenty_topics_is_read_within_the_timeout(infra: Infra) -> None:
    prefix = f"lag-{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}-{i:03d}" for i in range(TOPICS)]
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, num_partitions=1, replication_factor=1) for n in names])
        producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, acks="all")
        await producer.start()
        try:
            for i, name in enumerate(names[:3]):
                for _ in range(i + 1):
                    await producer.send_and_wait(name, b"fact")
        finally:
            await producer.stop()
        group = f"{prefix}-group"  # has read the second topic's first record, nothing else
        consumer = AIOKafkaConsumer(bootstrap_servers=infra.bootstrap, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign([TopicPartition(names[1], 0)])
            await consumer.commit({TopicPartition(names[1], 0): 1})
        finally:
            await consumer.stop()
        async with LagReader(infra.bootstrap, {group: names}) as lag:
            assert await lag.read() == {group: 5}
            by_partition = await lag.read_partitions(group)
        assert len(by_partition) == TOPICS
        assert [by_partition[(n, 0)] for n in names[:4]] == [1, 1, 3, 0]
        assert sum(by_partition.values()) == 5
    finally:
        await admin.delete_topics(names)
        await admin.close()
