"""A batch's lookups by key stay index probes however long the history (shared/process/db.py
PLANNER_SETTINGS): every service reads what a batch needs as `unnest($1) JOIN t USING
(key)`. At PostgreSQL's default random_page_cost the planner prices 2,000 index probes
above reading the whole table while it holds from some tens of thousands to about 180,000
intake rows, and hashes all of them for every batch."""

import json
import uuid
from typing import Any

import asyncpg
import pytest

from shared.process import db
from tests.support.stack import Infra

pytestmark = pytest.mark.integration

ROWS, KEYS = 120_000, 2_000  # inside that range
LOOKUP = "SELECT event_id, content_hash FROM unnest($1::uuid[]) AS k(event_id) JOIN intake_log USING (event_id)"


def scans(plan: Any) -> set[str]:
    """The node types of a JSON plan that read a table."""
    found = {plan["Node Type"]} & {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan"}
    for child in plan.get("Plans", ()):
        found |= scans(child)
    return found


async def plan_of(conn: asyncpg.Connection, keys: list[uuid.UUID]) -> set[str]:
    (explained,) = json.loads(await conn.fetchval(f"EXPLAIN (FORMAT JSON) {LOOKUP}", keys))
    return scans(explained["Plan"])


async def test_a_batch_of_keys_probes_the_index_of_a_long_history(infra: Infra, schema: str) -> None:
    admin = await asyncpg.connect(infra.dsn)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        await admin.execute(
            f"CREATE TABLE {schema}.intake_log (event_id uuid PRIMARY KEY, content_hash bytea NOT NULL, "
            "event_type text NOT NULL)"
        )
        await admin.execute(
            f"INSERT INTO {schema}.intake_log SELECT gen_random_uuid(), sha256(i::text::bytea), 'EnterpriseRegistered' "
            f"FROM generate_series(1, {ROWS}) i"
        )
        await admin.execute(f"ANALYZE {schema}.intake_log")
    finally:
        await admin.close()
    keys = [uuid.uuid4() for _ in range(KEYS)]
    pool = await db.create_pool(infra.dsn, schema=schema, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            as_the_services_plan = await plan_of(conn, keys)
            await conn.execute("SET random_page_cost = 4")  # PostgreSQL's default
            at_the_default = await plan_of(conn, keys)
    finally:
        await pool.close()
    assert as_the_services_plan == {"Index Scan"}
    assert at_the_default == {"Seq Scan"}  # why the setting exists: the whole history hashed per batch
