"""The re-decision queue in PostgreSQL: the enterprises an adopted version can change,
queued when it is adopted and taken a batch at a time by the rules. Every function runs
in the caller's transaction."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from services.awards.ledger.adapters.ledger import PAYABLE_ARGS, PAYABLE_ENTERPRISES
from services.awards.policy.domain.policy import REGION, PolicyVersion
from shared.contract.divisions import prefixes_of

# The date of a rule's fact, as awards stores it (FACT_COLUMNS above).
FACT_DATE = (
    "coalesce(f.data->>'admitted_on', f.data->>'graduated_on', f.data->>'certified_on', f.data->>'listed_on', "
    "f.data->>'transferred_on')::date"
)


# Enterprises a version can change: a fact dated on or after it starts (registered in its
# prefecture, for a prefecture's version: $2 are the four-digit prefixes of its codes).
# Only enterprises some policy could pay (a stint and a certification or listing): no
# version changes anything for the others.
CANDIDATES = (
    f"SELECT DISTINCT f.uscc FROM facts f WHERE {FACT_DATE} >= $1 "
    "AND ($2::text[] IS NULL OR EXISTS (SELECT 1 FROM enterprises e WHERE e.uscc = f.uscc "
    "AND left(e.division_code, 4) = ANY($2::text[]))) "
    f"AND f.uscc IN ({PAYABLE_ENTERPRISES.replace('$1', '$3').replace('$2', '$4')})"
)


def _candidate_args(v: PolicyVersion) -> list[Any]:
    prefixes = None if v.jurisdiction == REGION else list(prefixes_of(v.jurisdiction))
    return [v.effective_from, prefixes, *PAYABLE_ARGS]


async def candidates(conn: asyncpg.Connection, v: PolicyVersion, *, batch: int) -> AsyncIterator[list[str]]:
    """The enterprises `v` can change, in batches, through a cursor (in the caller's transaction)."""
    found: list[str] = []
    async for r in conn.cursor(f"{CANDIDATES} ORDER BY 1", *_candidate_args(v), prefetch=batch):
        found.append(r["uscc"])
        if len(found) >= batch:
            yield found
            found = []
    if found:
        yield found


async def queue_redecisions(conn: asyncpg.Connection, v: PolicyVersion) -> int:
    """Queue every enterprise `v` can change for re-decision under it."""
    result: str = await conn.execute(
        f"INSERT INTO policy_redecisions (uscc, version_id) SELECT c.uscc, $5::int FROM ({CANDIDATES}) c "
        "ON CONFLICT (uscc) DO UPDATE SET version_id = greatest(policy_redecisions.version_id, excluded.version_id)",
        *_candidate_args(v),
        v.version_id,
    )
    return int(result.rsplit(maxsplit=1)[-1])


async def take_redecisions(conn: asyncpg.Connection, limit: int) -> list[str]:
    """Up to `limit` queued enterprises, locked (another replica takes others), removed
    when the caller's transaction commits."""
    rows = await conn.fetch(
        "DELETE FROM policy_redecisions WHERE uscc IN (SELECT uscc FROM policy_redecisions ORDER BY uscc "
        "LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING uscc",
        limit,
    )
    return sorted(r["uscc"] for r in rows)


async def pending_redecisions(conn: asyncpg.Connection) -> int:
    n: int = await conn.fetchval("SELECT count(*) FROM policy_redecisions")
    return n


async def batch_waits_for_redecision(conn: asyncpg.Connection, batch_id: uuid.UUID) -> list[str]:
    """Enterprises with a line in the batch that an adoption has yet to re-decide."""
    rows = await conn.fetch(
        "SELECT DISTINCT p.enterprise_uscc FROM disbursements d JOIN payouts p USING (payout_id) "
        "JOIN policy_redecisions q ON q.uscc = p.enterprise_uscc WHERE d.batch_id = $1 ORDER BY 1",
        batch_id,
    )
    return [r["enterprise_uscc"] for r in rows]
