"""The audit trail as its readers see it: a page of rows, or every matching row as CSV."""

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson

from services.awards.audit.adapters import audit_views as views
from services.awards.audit.domain.audit import AUDIT_CSV_COLUMNS, AuditFilter
from shared.contract.spreadsheet_safe import csv_line

AUDIT_CSV_PAGE = 1000


def _audit_entry(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "seq": r["seq"],
        "at": r["at"].isoformat(),
        "actor": r["actor"],
        "actor_name": r["actor_name"],
        "roles": list(r["roles"]),
        "action": r["action"],
        "subject": r["subject"],
        "detail": orjson.loads(r["detail"]),
        "request_id": r["request_id"],
        "client": r["client"],
        "method": r["method"],
        "path": r["path"],
    }


async def audit_trail(pool: asyncpg.Pool, f: AuditFilter, *, after: int, limit: int) -> dict[str, Any]:
    async with pool.acquire() as conn:
        rows = await views.audit_entries(conn, f, after=after, limit=limit)
    return {"entries": [_audit_entry(r) for r in rows], "next_after": rows[-1]["seq"] if rows else after}


async def audit_csv(pool: asyncpg.Pool, f: AuditFilter) -> AsyncIterator[str]:
    """The matching audit rows as CSV lines, oldest first. The first page is read before the
    response starts, so a refused query is an error status, not a broken download."""
    async with pool.acquire() as conn:
        first = await views.audit_entries(conn, f, after=0, limit=AUDIT_CSV_PAGE)
    return _audit_csv_lines(pool, f, first)


async def _audit_csv_lines(pool: asyncpg.Pool, f: AuditFilter, rows: list[asyncpg.Record]) -> AsyncIterator[str]:
    yield csv_line(AUDIT_CSV_COLUMNS)
    while True:
        for r in rows:
            entry = _audit_entry(r)
            entry["roles"] = " ".join(entry["roles"])
            entry["detail"] = orjson.dumps(entry["detail"], option=orjson.OPT_SORT_KEYS).decode()
            yield csv_line([entry[c] for c in AUDIT_CSV_COLUMNS])
        if len(rows) < AUDIT_CSV_PAGE:
            return
        async with pool.acquire() as conn:
            rows = await views.audit_entries(conn, f, after=rows[-1]["seq"], limit=AUDIT_CSV_PAGE)
