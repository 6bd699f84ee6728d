"""Dedup marks are bounded: marks older than the retention go, recent ones stay (issue 9)."""

import uuid
from datetime import timedelta

import asyncpg
import pytest

from shared import db
from shared.retention import prune_processed
from tests.conftest import ROOT, Infra

pytestmark = pytest.mark.integration


async def test_prune_drops_only_marks_older_than_the_retention(infra: Infra) -> None:
    schema = f"ret_{uuid.uuid4().hex[:8]}"
    await db.migrate(infra.dsn, schema=schema, directory=ROOT / "services" / "awards" / "migrations")
    pool = await db.create_pool(infra.dsn, schema=schema, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            old = [uuid.uuid4() for _ in range(7)]
            recent = [uuid.uuid4() for _ in range(4)]
            await conn.execute(
                "INSERT INTO processed_events (event_id, processed_at) "
                "SELECT unnest($1::uuid[]), now() - interval '40 days'",
                old,
            )
            await conn.execute("INSERT INTO processed_events (event_id) SELECT unnest($1::uuid[])", recent)
            assert await prune_processed(conn, older_than=timedelta(days=30), chunk=3) == 7
            left = {r["event_id"] for r in await conn.fetch("SELECT event_id FROM processed_events")}
            assert left == set(recent)
            assert await prune_processed(conn, older_than=timedelta(days=30)) == 0
    finally:
        await pool.close()
        conn2 = await asyncpg.connect(infra.dsn)
        await conn2.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn2.close()
