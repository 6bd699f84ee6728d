"""The treasury's exception queue: every confirmation line that was not a plain match,
until a treasurer resolves it with a note and a different approver confirms (four eyes).
Each step is one transaction with its audit row."""

from typing import Any

import asyncpg
from prometheus_client import Gauge

from services.awards.audit.adapters import audit_trail
from services.awards.audit.domain.audit import Actor
from services.awards.treasury.adapters import bank_books
from shared.contract.errors import Conflict, NotAllowed, NotFound
from shared.process.db import unit_of_work

UNCLOSED = Gauge("treasury_exceptions_open", "Treasury exceptions not yet resolved and confirmed by two people")


def document(r: asyncpg.Record) -> dict[str, Any]:
    status = "open" if r["resolved_by"] is None else "resolved" if r["confirmed_by"] is None else "closed"
    return {
        "exception_id": r["exception_id"],
        "status": status,
        "reason": r["reason"],
        "file_sha256": r["file_sha256"],
        "line": r["line"],
        "payout_id": str(r["payout_id"]) if r["payout_id"] else None,
        "direction": r["direction"],
        "amount_cny": r["amount_cny"],
        "expected_cny": r["expected_cny"],
        "reference": r["reference"],
        "message": r["message"],
        "opened_at": r["opened_at"].isoformat(),
        "resolved_by": r["resolved_by"],
        "resolved_at": r["resolved_at"].isoformat() if r["resolved_at"] else None,
        "resolution": r["resolution"],
        "confirmed_by": r["confirmed_by"],
        "confirmed_at": r["confirmed_at"].isoformat() if r["confirmed_at"] else None,
    }


async def listed(pool: asyncpg.Pool, status: str | None, after: int, limit: int) -> dict[str, Any]:
    async with pool.acquire() as conn:
        rows = await bank_books.exceptions(conn, status, after, limit)
    return {
        "exceptions": [document(r) for r in rows],
        "next_after": rows[-1]["exception_id"] if len(rows) == limit else None,
    }


async def resolve(pool: asyncpg.Pool, actor: Actor, exception_id: int, note: str) -> dict[str, Any]:
    """A treasurer says what was done about it (a call to the bank, a manual entry)."""
    async with unit_of_work(pool) as conn:
        r = await bank_books.exception_for_update(conn, exception_id)
        if r is None:
            raise NotFound(f"no treasury exception {exception_id}")
        if r["resolved_by"] is not None:
            raise Conflict(f"exception {exception_id} was resolved by {r['resolved_by']} already")
        r = await bank_books.resolve_exception(conn, exception_id, actor.subject, note)
        await audit_trail.append(conn, actor, [("exception.resolve", str(exception_id), {"note": note})])
    return document(r)


async def confirm(pool: asyncpg.Pool, actor: Actor, exception_id: int) -> dict[str, Any]:
    """A different approver confirms the resolution; only then is the exception closed."""
    async with unit_of_work(pool) as conn:
        r = await bank_books.exception_for_update(conn, exception_id)
        if r is None:
            raise NotFound(f"no treasury exception {exception_id}")
        if r["resolved_by"] is None:
            raise Conflict(f"exception {exception_id} is not resolved yet: a treasurer resolves it first")
        if r["confirmed_by"] is not None:
            raise Conflict(f"exception {exception_id} was confirmed by {r['confirmed_by']} already")
        if r["resolved_by"] == actor.subject:
            raise NotAllowed(f"four eyes: {actor.subject} resolved this exception and cannot also confirm it")
        r = await bank_books.confirm_exception(conn, exception_id, actor.subject)
        await audit_trail.append(conn, actor, [("exception.confirm", str(exception_id), {})])
    return document(r)


async def refresh_gauge(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        n = await bank_books.count_unclosed_exceptions(conn)
    UNCLOSED.set(n)
    return n
