"""Every PostgreSQL advisory lock of the platform, in one place, so no two jobs share a
key by accident and a reader sees at once what serialises what."""

from collections.abc import Iterable

import asyncpg

SCHEMA_CREATION = 2015_0416  # CREATE SCHEMA IF NOT EXISTS races itself
REGISTRATION_WRITES = 3_100_001  # registration's writes: parking and release never race
AUDIT_CHAIN = 3_200_003  # awards' audit rows append one at a time: the hash chain stays linear
# Deciding awards holds it shared; adopting a policy version holds it alone, so no
# decision straddles an adoption (each sees the versions before it, or after it).
AWARDS_POLICY = 3_200_004
REPORTING_PROGRESS_PUBLISH = 3_300_003  # two replicas: one publishes, the other finds nothing changed
# One outbox relay per service at a time (session lock, held while it relays).
OUTBOX_RELAY = {"registration": 3_100_002, "awards": 3_200_002, "reporting": 3_300_002}


async def hold(conn: asyncpg.Connection, key: int) -> None:
    """Hold `key` until the caller's transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", key)


async def hold_shared(conn: asyncpg.Connection, key: int) -> None:
    """Hold `key` shared with other shared holders until the caller's transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", key)


async def hold_each(conn: asyncpg.Connection, namespace: str, keys: Iterable[str]) -> None:
    """Transaction-scoped locks on `keys` (e.g. enterprises), in one sorted order (no deadlock)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(k) FROM "
        "(SELECT DISTINCT hashtext($1 || u) AS k FROM unnest($2::text[]) u ORDER BY 1) s",
        f"{namespace}:",
        sorted(keys),
    )
