"""What every service process runs: migrations, pool, topics, broker, outbox relay.

Each service's `app.py` builds one of these from its settings and hands it to
`shared.http.service_app`, so the three services share one start/stop order.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from pydantic import BaseModel

from shared import db, topics
from shared.kafka import ensure_topics, idempotent_producer
from shared.outbox import OutboxRelay
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)


@dataclass
class ServiceRuntime:
    name: str
    settings: ServiceSettings
    migrations: Path
    relay_lock_key: int
    broker: KafkaBroker = field(init=False)
    _pool: asyncpg.Pool | None = field(default=None, init=False)
    _producer: AIOKafkaProducer | None = field(default=None, init=False)
    _relay: OutboxRelay | None = field(default=None, init=False)
    _relay_task: asyncio.Task[None] | None = field(default=None, init=False)
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.broker = KafkaBroker(
            self.settings.kafka_bootstrap_servers,
            client_id=self.name,
            logger=logging.getLogger(f"{self.name}.broker"),
            log_level=logging.DEBUG,  # "Received"/"Processed" per batch: debug detail, not news
        )

    def documents(self, topic: str, *, models: Sequence[type[BaseModel]], description: str) -> None:
        """Declare an outgoing topic for the AsyncAPI document (the outbox relay publishes)."""
        for model in models:
            self.broker.publisher(topic, title=f"{topic}:{model.__name__}", description=description, schema=model)

    @property
    def schema(self) -> str:
        return self.name

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "service not started"
        return self._pool

    @property
    def producer(self) -> AIOKafkaProducer:
        assert self._producer is not None, "service not started"
        return self._producer

    async def start(self, *, pool_size: int = 8) -> None:
        s = self.settings
        await db.migrate(s.dsn, schema=self.schema, directory=self.migrations)
        await ensure_topics(s.kafka_bootstrap_servers, topics.ALL, partitions=s.topic_partitions)
        self._pool = await db.create_pool(s.dsn, schema=self.schema, max_size=pool_size)
        self._producer = idempotent_producer(s.kafka_bootstrap_servers, client_id=f"{self.name}-outbox")
        await self._producer.start()
        self._relay = OutboxRelay(
            pool=self._pool,
            producer=self._producer,
            service=self.name,
            lock_key=self.relay_lock_key,
            batch_size=s.outbox_batch_size,
            idle_sleep_s=s.outbox_idle_sleep_s,
        )
        self._relay_task = asyncio.create_task(self._relay.run(), name=f"{self.name}-relay")
        await self.broker.start()
        self._tasks = [asyncio.create_task(_forever(job), name=f"{self.name}-bg") for job in self.background]
        log.info("%s started", self.name)

    async def stop(self) -> None:
        # Subscribers first: the in-flight batch finishes and commits; then the relay drains.
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.broker.stop()
        if self._relay is not None and self._relay_task is not None:
            self._relay.stop()
            await asyncio.wait_for(self._relay_task, timeout=10)
        if self._producer is not None:
            await self._producer.stop()
        if self._pool is not None:
            await self._pool.close()
        log.info("%s stopped", self.name)

    async def readiness(self) -> dict[str, bool]:
        checks = {"postgres": False, "kafka": False}
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            checks["postgres"] = self._pool is not None and await self._pool.fetchval("SELECT 1") == 1
        with contextlib.suppress(Exception):  # any failure means "not reachable"
            checks["kafka"] = await self.broker.ping(timeout=2.0)
        return checks


async def _forever(job: Callable[[], Awaitable[None]]) -> None:
    """Run a periodic job; a failure is logged and the job runs again on its next tick."""
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background job failed")
            await asyncio.sleep(5)
