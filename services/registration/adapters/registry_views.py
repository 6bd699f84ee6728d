"""Reads of the registry of record for its HTTP API: one enterprise, one incubator, the
parked facts. Rows come back as JSON-ready dicts."""

from typing import Any

import asyncpg


async def enterprise(conn: asyncpg.Connection, uscc: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM enterprises WHERE uscc = $1", uscc)
    if row is None:
        return None
    stints = await conn.fetch(
        "SELECT incubator_id, admitted_on, graduated_on FROM stints WHERE uscc = $1 ORDER BY admitted_on", uscc
    )
    certs = await conn.fetch(
        "SELECT certificate_no, certified_on FROM certifications WHERE uscc = $1 ORDER BY certified_on", uscc
    )
    listings = await conn.fetch(
        "SELECT board, security_code, listed_on FROM listings WHERE uscc = $1 ORDER BY listed_on", uscc
    )
    transfers = await conn.fetch(
        "SELECT from_board, to_board, security_code, transferred_on FROM transfers WHERE uscc = $1 "
        "ORDER BY transferred_on",
        uscc,
    )
    latest = await conn.fetchrow(
        "SELECT employees, reported_on FROM employment_reports WHERE uscc = $1 "
        "ORDER BY reported_on DESC, event_id DESC LIMIT 1",
        uscc,
    )
    return {
        **_row(row),
        "stints": [_row(s) for s in stints],
        "certifications": [_row(c) for c in certs],
        "listings": [_row(x) for x in listings],
        "transfers": [_row(t) for t in transfers],
        "latest_employment_report": latest and _row(latest),
    }


async def incubator(conn: asyncpg.Connection, incubator_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM incubators WHERE incubator_id = $1", incubator_id)
    if row is None:
        return None
    resident = await conn.fetchval(
        "SELECT count(*) FROM stints WHERE incubator_id = $1 AND graduated_on IS NULL", incubator_id
    )
    return {**_row(row), "resident_enterprises": resident}


async def parked(conn: asyncpg.Connection, limit: int) -> dict[str, Any]:
    total = await conn.fetchval("SELECT count(*) FROM parked")
    rows = await conn.fetch(
        "SELECT event_id, event_type, waiting_for, reason, parked_at, source_topic, source_partition, "
        "source_offset FROM parked ORDER BY parked_at, event_id LIMIT $1",
        limit,
    )
    return {"total": total, "parked": [_row(r) for r in rows]}


def _row(record: asyncpg.Record) -> dict[str, Any]:
    return {k: _json(v) for k, v in record.items()}


def _json(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return None
    return str(value) if not isinstance(value, int | str | float | type(None)) else value
