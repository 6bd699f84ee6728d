"""Static group membership on the real broker: a process that stops keeps its place in the
group until its session lapses, and what needs an empty group (reporting's rebuild) waits
for that, and refuses while a member is still there."""

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from shared.contract import topics
from shared.messaging.kafka import group_members, wait_until_group_empty
from shared.messaging.kafka_settings import KafkaSettings
from tests.support.stack import Infra

pytestmark = pytest.mark.integration

SESSION_MS = 6000  # the brokers' least


async def joined(settings: KafkaSettings, group: str, instance: str | None) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        topics.ENTERPRISE_EVENTS,
        **settings.client_options(),
        group_id=group,
        group_instance_id=instance,
        session_timeout_ms=SESSION_MS,
        heartbeat_interval_ms=2000,
    )
    await consumer.start()
    while not consumer.assignment():
        await asyncio.sleep(0.1)
    return consumer


async def test_a_stopped_static_member_holds_its_place_until_its_session_lapses(infra: Infra) -> None:
    settings = KafkaSettings(kafka_bootstrap_servers=infra.bootstrap)
    group = f"static-{uuid.uuid4().hex[:8]}"
    consumer = await joined(settings, group, "reporting")
    with pytest.raises(RuntimeError, match=f"consumer group {group} still has 1 member"):
        await wait_until_group_empty(settings, group, timeout_s=1)
    await consumer.stop()  # a static member sends no LeaveGroup
    assert await group_members(settings, group) == 1
    await wait_until_group_empty(settings, group, timeout_s=SESSION_MS / 1000 + 30)
    assert await group_members(settings, group) == 0


async def test_a_dynamic_member_leaves_when_it_stops(infra: Infra) -> None:
    settings = KafkaSettings(kafka_bootstrap_servers=infra.bootstrap)
    group = f"dynamic-{uuid.uuid4().hex[:8]}"
    consumer = await joined(settings, group, None)
    assert await group_members(settings, group) == 1
    await consumer.stop()
    assert await group_members(settings, group) == 0
