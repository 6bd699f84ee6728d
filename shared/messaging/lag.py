"""Consumer-group lag: messages in a group's topics not yet committed by the group."""

import asyncio
from collections.abc import Mapping, Sequence
from types import TracebackType

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.messaging.kafka_settings import KafkaSettings, kafka_options


class LagReader:
    """One admin client and one consumer kept open, so polling lag is cheap for the broker.

    async with LagReader(kafka, {"awards": ["enterprise.events.v1"]}) as lag:
        await lag.read()   # {"awards": 0}
    """

    def __init__(self, kafka: KafkaSettings | str, groups: Mapping[str, Sequence[str]]) -> None:
        self._options = kafka_options(kafka)
        self._groups = groups
        self._admin = AIOKafkaAdminClient(**self._options, request_timeout_ms=10_000)
        self._consumer = AIOKafkaConsumer(**self._options, request_timeout_ms=10_000)
        self._partitions: dict[str, list[TopicPartition]] = {}

    async def __aenter__(self) -> "LagReader":
        await self._admin.start()
        await self._consumer.start()
        topics = sorted({t for names in self._groups.values() for t in names})
        described = {d["topic"]: d["partitions"] for d in await self._admin.describe_topics(topics)}
        self._partitions = {
            g: [TopicPartition(t, p["partition"]) for t in names for p in described[t]]
            for g, names in self._groups.items()
        }
        await self._learn_leaders()
        return self

    async def _learn_leaders(self) -> None:
        """Ask about every topic at once, so the consumer learns their leaders in one metadata
        round. aiokafka's offset lookup adds the first topic it does not know, waits for a
        metadata update and tries again: one round per unknown topic, so a hundred senders'
        topics outlasted the request timeout on every read, and the lag gauge went dark."""
        by_topic: dict[str, list[TopicPartition]] = {}
        for tp in {tp for tps in self._partitions.values() for tp in tps}:
            by_topic.setdefault(tp.topic, []).append(tp)
        await asyncio.gather(*(self._consumer.end_offsets(tps) for tps in by_topic.values()))

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._consumer.stop()
        await self._admin.close()

    async def topic_names(self) -> list[str]:
        return list(await self._admin.list_topics())

    async def read_partitions(self, group: str) -> dict[tuple[str, int], int]:
        """Lag of one group by (topic, partition)."""
        tps = self._partitions[group]
        ends = await self._consumer.end_offsets(tps)
        committed = await self._admin.list_consumer_group_offsets(group)
        return {(tp.topic, tp.partition): ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in tps}

    async def read(self) -> dict[str, int]:
        every = [tp for tps in self._partitions.values() for tp in tps]
        ends = await self._consumer.end_offsets(every)
        lags = {}
        for group, tps in self._partitions.items():
            committed = await self._admin.list_consumer_group_offsets(group)
            lags[group] = sum(ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in tps)
        return lags
