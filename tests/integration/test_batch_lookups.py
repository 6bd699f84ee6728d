"""A batch's lookups by key stay btree probes however long the history (shared/process/db.py
PLANNER_SETTINGS): every service reads what a batch needs as `unnest($1) JOIN t USING
(key)`. At PostgreSQL's default random_page_cost the planner prices 2,000 index probes
above reading the whole table while it holds from some tens of thousands to about 180,000
intake rows, and hashes all of them for every batch."""

import json
import uuid
from typing import Any

import asyncpg
import pytest

from services.awards.ledger.adapters.ledger import LEDGER_LOOKUP
from shared.process import db
from tests.support.stack import ROOT, Infra

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


AWARDS_MIGRATIONS = ROOT / "services" / "awards" / "migrations"


def indexes(plan: Any) -> set[str]:
    """The indexes a JSON plan reads."""
    found = {plan["Index Name"]} if "Index Name" in plan else set()
    for child in plan.get("Plans", ()):
        found |= indexes(child)
    return found


async def test_the_ledger_lookup_probes_the_btree_before_payouts_are_analyzed(infra: Infra, schema: str) -> None:
    """A trigram index answers `=` too: the approvals' code search must not lend one to the
    ledger's per-batch lookup (migration 0018), which probed it at ~1 ms a key while payouts
    had not been analyzed yet, as on a fresh deployment."""
    await db.migrate(infra.dsn, schema=schema, directory=AWARDS_MIGRATIONS)
    pool = await db.create_pool(infra.dsn, schema=schema, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO payouts (payout_id, enterprise_uscc, rule, recipient_role, recipient_uscc, "
                "recipient_name, incubator_id, amount_cny, basis_event_id, basis_date, explanation, status) "
                "SELECT gen_random_uuid(), '91650100MA' || lpad(i::text, 8, '0'), 'HIGH_TECH_CERTIFICATION', "
                "'enterprise', '91650100MA' || lpad(i::text, 8, '0'), 'x', 'inc', 100000, gen_random_uuid(), "
                "'2016-01-01', 'x', 'issued' FROM generate_series(1, 1000) i"
            )
            # The plan asyncpg's prepared statement settles on after its first five executions.
            await conn.execute("SET plan_cache_mode = force_generic_plan")
            await conn.execute(f"PREPARE ledger(text[]) AS {LEDGER_LOOKUP}")
            (explained,) = json.loads(
                await conn.fetchval("EXPLAIN (FORMAT JSON) EXECUTE ledger('{91650100MA00000001}')")
            )
    finally:
        await pool.close()
    assert indexes(explained["Plan"]) == {"payouts_enterprise"}
