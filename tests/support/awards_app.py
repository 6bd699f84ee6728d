"""Awards in this process, on a schema of the real PostgreSQL: canonical events go through
its consumer's batch machinery as Kafka records would (`BatchConsumer` with the handler
table), and requests through its own app (routes, sign-in, errors) over ASGI. No broker
and no service process; what awards decides to announce stays in its outbox."""

import itertools
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka.structs import ConsumerRecord

from services.awards import handlers
from services.awards.app import create_app
from services.awards.ledger.entrypoints.consumer import make_handler
from services.awards.policy.adapters.policy_versions import AdoptedCache
from services.awards.settings import AwardsSettings
from shared.contract import topics
from shared.messaging.consumer import BatchConsumer
from shared.messaging.outbox import unpack
from shared.process import db
from tests.support import factories as f
from tests.support.auth import write_jwks
from tests.support.stack import AUTH_AUDIENCE, AUTH_ISSUER, ROOT

MIGRATIONS = ROOT / "services" / "awards" / "migrations"
BASE = "http://awards.in-process"


class InProcessAwards:
    def __init__(self, pool: asyncpg.Pool, settings: AwardsSettings) -> None:
        self.pool = pool
        self.app = create_app(settings)
        self.app.state.runtime.serve_from(pool)
        self.consumer = BatchConsumer(
            pool=pool,
            service="awards",
            dlq_topic=topics.AWARDS_DLQ,
            handle=make_handler(handlers.bound(AdoptedCache())),
            max_attempts=2,
        )
        self._offsets = itertools.count()

    async def take(self, envelopes: list[dict[str, Any]]) -> None:
        """Canonical events, one batch, as the consumer would fetch them from the topic."""
        ms = int(time.time() * 1000)
        records = []
        for e in envelopes:
            key, value = f.key_of(e).encode(), json.dumps(e).encode()
            headers = [("event_type", e["event_type"].encode())]
            offset = next(self._offsets)
            records.append(
                ConsumerRecord(
                    topics.ENTERPRISE_EVENTS, 0, offset, ms, 0, key, value, None, len(key), len(value), headers
                )
            )
        await self.consumer.process(records)

    async def announced(self, uscc: str) -> Counter[str]:
        """The award events awards put in its outbox for one enterprise, each id once by type
        (the relay sends them as they are; nothing here takes them out)."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT id, topics, keys, payloads, headers FROM outbox ORDER BY id")
        seen: dict[str, str] = {}
        for topic, key, value, _ in (m for r in rows for m in unpack(r)):
            if topic == topics.AWARD_EVENTS and key == uscc.encode():
                event = json.loads(value)
                seen[event["event_id"]] = event["event_type"]
        return Counter(seen.values())

    def url(self, service: str) -> str:
        assert service == "awards", f"only awards runs in this process, not {service}"
        return BASE

    def client(self, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE, **kw)


@asynccontextmanager
async def in_process_awards(dsn: str, schema: str, directory: Path) -> AsyncIterator[InProcessAwards]:
    """Awards migrated into `schema`, signing in with the tests' key (JWKS in `directory`)."""
    jwks = directory / "jwks.json"
    write_jwks(jwks)
    await db.migrate(dsn, schema=schema, directory=MIGRATIONS)
    pool = await db.create_pool(dsn, schema=schema, max_size=4)
    settings = AwardsSettings(
        database_url=dsn,  # type: ignore[arg-type]
        auth_jwks_file=jwks,
        auth_issuer=AUTH_ISSUER,
        auth_audience=AUTH_AUDIENCE,
    )
    try:
        yield InProcessAwards(pool, settings)
    finally:
        await pool.close()
