"""What an operator watches, refreshed by each service every few seconds off the hot path:
consumer lag per partition, readiness, the outbox's backlog and its oldest row's age, and
whether the database's primary has the standby it should have.
The alert rules in ops/prometheus/alerts.yml read these names."""

import logging
import re
import time
from collections.abc import Sequence

import asyncpg
from prometheus_client import Gauge

from shared.messaging.kafka_settings import KafkaSettings
from shared.messaging.lag import LagReader

log = logging.getLogger(__name__)

LAG = Gauge(
    "kafka_consumer_lag", "Messages not yet committed by the service's group", ["service", "topic", "partition"]
)
OLDEST_UNPROCESSED = Gauge(
    "kafka_consumer_oldest_unprocessed_seconds",
    "Age of the oldest record of the batch being processed (0 when idle)",
    ["service"],
)
READY = Gauge("service_ready", "1 when /readyz would answer 200", ["service"])
OUTBOX_PENDING = Gauge("outbox_pending", "Outbox messages waiting for the relay", ["service"])
OUTBOX_OLDEST = Gauge("outbox_oldest_pending_seconds", "Age of the oldest outbox row (0 when empty)", ["service"])
STANDBY_EXPECTED = Gauge("postgres_standby_expected", "1 when the deployment has a standby (settings)", ["service"])
STANDBYS = Gauge(
    "postgres_standbys_connected", "Standbys streaming from the primary the service writes to", ["service"]
)
LAST_REFRESH = Gauge("ops_metrics_refreshed_timestamp_seconds", "When these gauges were last refreshed", ["service"])


class LagExporter:
    """Keeps one LagReader open for the service's own group; reopens it after a failure, and
    when a pattern subscription gains a topic (registration: a new sender's intake)."""

    def __init__(
        self, kafka: KafkaSettings, *, service: str, topics: Sequence[str], pattern: str | None = None
    ) -> None:
        self._kafka, self._service, self._topics = kafka, service, list(topics)
        self._pattern = pattern
        self._reader: LagReader | None = None

    async def refresh(self) -> None:
        try:
            if self._reader is None:
                self._reader = await LagReader(self._kafka, {self._service: self._topics}).__aenter__()
            if self._pattern is not None:
                names = await self._reader.topic_names()
                found = sorted({*self._topics, *(t for t in names if re.match(self._pattern, t))})
                if found != sorted(self._topics):
                    self._topics = found
                    await self.close()
                    self._reader = await LagReader(self._kafka, {self._service: self._topics}).__aenter__()
            for (topic, partition), lag in (await self._reader.read_partitions(self._service)).items():
                LAG.labels(self._service, topic, str(partition)).set(lag)
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            await reader.__aexit__(None, None, None)


async def refresh_outbox(conn: asyncpg.Connection, service: str) -> None:
    row = await conn.fetchrow(
        "SELECT coalesce(sum(messages), 0) AS n, "
        "coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0) AS age FROM outbox"
    )
    OUTBOX_PENDING.labels(service).set(row["n"])
    OUTBOX_OLDEST.labels(service).set(float(row["age"]))
    LAST_REFRESH.labels(service).set(time.time())


async def refresh_standbys(conn: asyncpg.Connection, service: str, *, expected: bool) -> None:
    """The primary's WAL senders: a row each is visible to any role (its details are not)."""
    STANDBY_EXPECTED.labels(service).set(int(expected))
    STANDBYS.labels(service).set(await conn.fetchval("SELECT count(*) FROM pg_stat_replication"))
