"""What every service process runs: migrations, pool, topics, broker, outbox relay.

Each service's `app.py` builds one of these from its settings and hands it to
`shared.web.app.service_app`, so the three services share one start/stop order.
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

from shared.contract import topics
from shared.messaging.kafka import KafkaSetupError, idempotent_producer, missing_topics, probe
from shared.messaging.outbox import OutboxRelay
from shared.process import db, gc_pauses, locks
from shared.process.metrics import READY, LagExporter, refresh_outbox, refresh_standbys
from shared.process.settings import ServiceSettings

# Exports stream from a snapshot as fast as the client reads: at most this many at once,
# and one whose client stops reading gives its connection back after this long.
EXPORT_CONNECTIONS = 2
EXPORT_STALL_S = 300

log = logging.getLogger(__name__)


@dataclass
class ServiceRuntime:
    name: str
    settings: ServiceSettings
    migrations: Path
    broker: KafkaBroker = field(init=False)
    _pool: asyncpg.Pool | None = field(default=None, init=False)
    _export_pool: asyncpg.Pool | None = field(default=None, init=False)
    _producer: AIOKafkaProducer | None = field(default=None, init=False)
    _relay: OutboxRelay | None = field(default=None, init=False)
    _relay_task: asyncio.Task[None] | None = field(default=None, init=False)
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)
    _kafka_task: asyncio.Task[None] | None = field(default=None, init=False)
    _broker_started: bool = field(default=False, init=False)
    consumed_topics: list[str] = field(default_factory=list, init=False)
    consumed_pattern: str | None = field(default=None, init=False)  # a pattern subscription's
    _lag: LagExporter | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.broker = KafkaBroker(
            self.settings.bootstrap_list,
            security=self.settings.faststream_security(),
            client_id=self.name,
            metadata_max_age_ms=self.settings.kafka_metadata_max_age_ms,
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
    def export_pool(self) -> asyncpg.Pool:
        """Long reads streamed to a client (exports): two connections of their own, so a
        slow or stalled reader never takes one the consumer, the relay or an approval needs.
        PostgreSQL ends a download stalled inside its snapshot for EXPORT_STALL_S."""
        assert self._export_pool is not None, "service not started"
        return self._export_pool

    def serve_from(self, pool: asyncpg.Pool) -> None:
        """The routes on `pool` with nothing started (no broker, no relay, no background
        job): how in-process tests run a service's use cases through its own routes."""
        self._pool = self._export_pool = pool

    @property
    def producer(self) -> AIOKafkaProducer:
        assert self._producer is not None, "service not started"
        return self._producer

    async def start(self, *, pool_size: int = 8) -> None:
        """PostgreSQL now; Kafka in the background, so a broker that refuses the settings
        leaves the process serving /readyz 503 with one clear log line instead of a crash loop."""
        s = self.settings
        await db.require_migrated(s.dsn, schema=self.schema, directory=self.migrations)
        self._pool = await db.create_pool(s.dsn, schema=self.schema, max_size=pool_size)
        self._export_pool = await db.create_pool(
            s.dsn,
            schema=self.schema,
            min_size=0,
            max_size=EXPORT_CONNECTIONS,
            settings={"idle_in_transaction_session_timeout": f"{EXPORT_STALL_S}s"},
        )
        gc_pauses.watch()
        gc_pauses.freeze_startup_heap()
        jobs = [*self.background, self._ops_metrics]
        self._tasks = [asyncio.create_task(_forever(job), name=f"{self.name}-bg") for job in jobs]
        self._kafka_task = asyncio.create_task(self._start_kafka(), name=f"{self.name}-kafka")
        log.info("%s started; connecting to Kafka at %s", self.name, s.describe())

    async def _start_kafka(self) -> None:
        s = self.settings
        reported = ""
        while True:
            try:
                await probe(s)
                # Services create no topics (they have no right to): the ops principal does.
                missing = await missing_topics(s, [*topics.ALL_OF[self.name]])
                if missing:
                    raise KafkaSetupError(
                        f"topics {', '.join(missing)} are missing or not granted to this principal: the ops "
                        "principal creates them and grants them (`python -m ops.kafka_admin topics` and "
                        "`grant-services`, which `make up` runs)"
                    )
                break
            except KafkaSetupError as exc:
                if str(exc) != reported:  # one line per distinct cause, not one per retry
                    log.error("%s (retrying every %.0f s)", exc, s.kafka_retry_interval_s)
                    reported = str(exc)
            except Exception as exc:  # noqa: BLE001 - a broker still starting: retry quietly
                if type(exc).__name__ != reported:
                    log.warning("Kafka not ready at %s: %r; retrying", s.describe(), exc)
                    reported = type(exc).__name__
            await asyncio.sleep(s.kafka_retry_interval_s)
        self._producer = idempotent_producer(s, client_id=f"{self.name}-outbox")
        await self._producer.start()
        self._relay = OutboxRelay(
            pool=self.pool,
            producer=self._producer,
            service=self.name,
            lock_key=locks.OUTBOX_RELAY[self.name],
            batch_size=s.outbox_batch_size,
            idle_sleep_s=s.outbox_idle_sleep_s,
        )
        self._relay_task = asyncio.create_task(self._relay.run(), name=f"{self.name}-relay")
        await self.broker.start()
        self._broker_started = True
        self._lag = LagExporter(s, service=self.name, topics=self.consumed_topics, pattern=self.consumed_pattern)
        log.info("%s connected to Kafka at %s", self.name, s.describe())

    async def stop(self) -> None:
        # Subscribers first: the in-flight batch finishes and commits; then the relay drains.
        if self._kafka_task is not None and not self._kafka_task.done():
            self._kafka_task.cancel()
            await asyncio.gather(self._kafka_task, return_exceptions=True)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._lag is not None:
            await self._lag.close()
        if self._broker_started:
            await self.broker.stop()
        if self._relay is not None and self._relay_task is not None:
            self._relay.stop()
            await asyncio.wait_for(self._relay_task, timeout=10)
        if self._producer is not None:
            await self._producer.stop()
        if self._pool is not None:
            await self._pool.close()
        if self._export_pool is not None:
            await self._export_pool.close()
        log.info("%s stopped", self.name)

    async def readiness(self) -> dict[str, bool]:
        checks = {"postgres": False, "kafka": False}
        # Bounded: a database cut off answers nothing, and a probe must say so, not hang.
        with contextlib.suppress(OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            checks["postgres"] = (
                self._pool is not None and await asyncio.wait_for(self._pool.fetchval("SELECT 1"), 2.0) == 1
            )
        with contextlib.suppress(Exception):  # any failure means "not reachable"
            checks["kafka"] = self._broker_started and await self.broker.ping(timeout=2.0)
        return checks

    async def _ops_metrics(self) -> None:
        """Readiness, outbox backlog, the primary's standbys and consumer lag as gauges, every
        few seconds."""
        READY.labels(self.name).set(int(all((await self.readiness()).values())))
        async with self.pool.acquire() as conn:
            await refresh_outbox(conn, self.name)
            await refresh_standbys(conn, self.name, expected=self.settings.database_standby_expected)
        if self._lag is not None and self.consumed_topics:
            await self._lag.refresh()
        await asyncio.sleep(self.settings.ops_metrics_interval_s)


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
