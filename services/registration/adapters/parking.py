"""The parking lot in PostgreSQL: intake facts waiting for a reference (docs/contract/events.md), kept
as they first arrived so a release or an expiry can answer their sender exactly."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import orjson

from services.registration.domain.intake import Incoming
from shared.messaging.trace_context import carried, with_trace


@dataclass(frozen=True, slots=True)
class ParkedFact:
    event_id: uuid.UUID
    reason: str
    parked_at: datetime
    message: Incoming  # as it first arrived


@dataclass(frozen=True, slots=True)
class ToPark:
    event_id: uuid.UUID
    event_type: str
    waiting_for: str
    reason: str
    message: Incoming


async def take_waiting_for(conn: asyncpg.Connection, keys: Sequence[str]) -> list[ParkedFact]:
    """Remove and return the facts parked for any of `keys`, in the order they were parked."""
    # A join, not `= ANY(...)`: the planner may hash a batch's thousand keys against a small
    # parked table instead of probing the index once per key.
    rows = await conn.fetch(
        "DELETE FROM parked p USING unnest($1::text[]) AS k(waiting_for) WHERE p.waiting_for = k.waiting_for "
        "RETURNING p.*",
        list(keys),
    )
    return [_parked(r) for r in sorted(rows, key=lambda r: (r["parked_at"], r["source_offset"]))]


async def take_expired(conn: asyncpg.Connection, ttl: timedelta) -> list[ParkedFact]:
    """Remove and return the facts parked longer than `ttl`."""
    rows = await conn.fetch("DELETE FROM parked WHERE parked_at < now() - $1::interval RETURNING *", ttl)
    return [_parked(r) for r in rows]


async def park(conn: asyncpg.Connection, facts: Sequence[ToPark]) -> None:
    """Park `facts`; a fact parked before waits for its new reference instead."""
    if not facts:
        return
    await conn.executemany(
        "INSERT INTO parked (event_id, event_type, waiting_for, reason, raw, key, headers, source_topic, "
        "source_partition, source_offset) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
        "ON CONFLICT (event_id) DO UPDATE SET waiting_for = excluded.waiting_for, reason = excluded.reason",
        [
            (
                f.event_id,
                f.event_type,
                f.waiting_for,
                f.reason,
                f.message.raw,
                f.message.key,
                # Its trace with it: a released fact continues the trace it arrived in.
                orjson.dumps(
                    [[k, v.decode("utf-8", "replace")] for k, v in with_trace(f.message.headers, f.message.trace)]
                ).decode(),
                f.message.topic,
                f.message.partition,
                f.message.offset,
            )
            for f in facts
        ],
    )


async def forget_intake_ids(conn: asyncpg.Connection, event_ids: Sequence[uuid.UUID]) -> None:
    """Drop ids from the intake log, so a later re-publish of the same fact is processed afresh."""
    await conn.execute("DELETE FROM intake_log WHERE event_id = ANY($1::uuid[])", list(event_ids))


async def stats(conn: asyncpg.Connection) -> tuple[int, float]:
    """(facts parked now, age in seconds of the oldest, 0 when none)."""
    row = await conn.fetchrow(
        "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(parked_at)), 0) AS age FROM parked"
    )
    assert row is not None
    return row["n"], float(row["age"])


def _parked(row: asyncpg.Record) -> ParkedFact:
    items = orjson.loads(row["headers"]) if isinstance(row["headers"], str) else row["headers"]
    headers = tuple((k, v.encode()) for k, v in items)
    message = Incoming(
        raw=bytes(row["raw"]),
        key=row["key"] and bytes(row["key"]),
        headers=headers,
        trace=carried(headers),
        topic=row["source_topic"],
        partition=row["source_partition"],
        offset=row["source_offset"],
    )
    return ParkedFact(row["event_id"], row["reason"], row["parked_at"], message)
