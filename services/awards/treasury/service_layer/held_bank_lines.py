"""Confirmation lines held for a second person: a settlement of a clawback or a return of
a recalled payment books nothing until an approver other than the treasurer who imported
the file confirms it (four eyes, as for treasury exceptions). Confirming judges the line
again against the books as they are now; rejecting opens a treasury exception for it.
Each decision is one transaction with its events and an audit row naming both people."""

from datetime import UTC, datetime
from typing import Any

import asyncpg
from prometheus_client import Gauge

from services.awards.audit.adapters import audit_trail
from services.awards.audit.domain.audit import Actor
from services.awards.disbursement.adapters import disbursement_books as books
from services.awards.disbursement.service_layer.disbursement import CRASH_POINT
from services.awards.treasury.adapters import bank_books
from services.awards.treasury.domain.confirmations import ConfirmationLine, Direction, LineOutcome, judge
from services.awards.treasury.service_layer.confirmations import Booking, book_line
from shared.contract.errors import Conflict, NotAllowed, NotFound
from shared.messaging import outbox
from shared.process.db import unit_of_work
from shared.process.failpoints import crash_point

UNDECIDED = Gauge("held_bank_lines_undecided", "Settlements and returns awaiting a second person's confirmation")
BOOKS_WHEN_CONFIRMED = frozenset({LineOutcome.SETTLED, LineOutcome.RETURNED})


def document(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "held_id": r["held_id"],
        "status": r["decision"] or "held",
        "file_sha256": r["file_sha256"],
        "line": r["line"],
        "direction": r["direction"],
        "payout_id": str(r["payout_id"]),
        "clawback_id": r["clawback_id"],
        "amount_cny": r["amount_cny"],
        "value_date": r["value_date"].isoformat(),
        "reference": r["reference"],
        "imported_by": r["imported_by"],
        "held_at": r["held_at"].isoformat(),
        "decided_by": r["decided_by"],
        "decided_at": r["decided_at"].isoformat() if r["decided_at"] else None,
        "note": r["note"],
    }


async def listed(pool: asyncpg.Pool, status: str | None, after: int, limit: int) -> dict[str, Any]:
    async with pool.acquire() as conn:
        rows = await bank_books.held_lines(conn, status, after, limit)
    return {
        "held_lines": [document(r) for r in rows],
        "next_after": rows[-1]["held_id"] if len(rows) == limit else None,
    }


async def _undecided(conn: asyncpg.Connection, actor: Actor, held_id: int) -> asyncpg.Record:
    h = await bank_books.held_line_for_update(conn, held_id)
    if h is None:
        raise NotFound(f"no held confirmation line {held_id}")
    if h["decision"] is not None:
        raise Conflict(f"held line {held_id} was {h['decision']} by {h['decided_by']} already")
    if h["imported_by"] == actor.subject:
        raise NotAllowed(f"four eyes: {actor.subject} imported this line and cannot also decide it")
    return h


def _line(h: asyncpg.Record) -> ConfirmationLine:
    return ConfirmationLine(
        h["line"],
        h["payout_id"],
        Direction(h["direction"]),
        h["amount_cny"],
        h["value_date"],
        h["reference"],
        h["clawback_id"],
    )


async def confirm(pool: asyncpg.Pool, actor: Actor, held_id: int) -> dict[str, Any]:
    """A second person confirms: the settlement or the return is booked, exactly once."""
    now = datetime.now(UTC)
    async with unit_of_work(pool) as conn:
        h = await _undecided(conn, actor, held_id)
        rows = await books.lock_payouts(conn, [h["payout_id"]])
        book = (await bank_books.books_of(conn, rows))[h["payout_id"]]
        line = _line(h)
        verdict = judge(line, book, confirming=True)
        if verdict.outcome not in BOOKS_WHEN_CONFIRMED or verdict.after is None:
            raise Conflict(f"the books changed since line {h['line']} was held: {verdict.message}; reject it instead")
        booking = Booking()
        book_line(
            booking,
            line,
            verdict.outcome,
            before=book,
            after=verdict.after,
            row=rows[h["payout_id"]],
            sha256=h["file_sha256"],
            now=now,
        )
        await bank_books.mark_settled(conn, booking.settled)
        await bank_books.mark_returned(conn, booking.returned)
        decided = await bank_books.decide_held_line(conn, held_id, "confirmed", actor.subject, None)
        await outbox.enqueue(conn, booking.events)
        both = {"held_id": held_id, "imported_by": h["imported_by"], "confirmed_by": actor.subject}
        await audit_trail.append(
            conn, actor, [(what, subject, detail | both) for what, subject, detail in booking.audit]
        )
    crash_point(CRASH_POINT)  # fault tests: killed after the commit, before the answer
    return document(decided) | {"outcome": verdict.outcome.value, "message": verdict.message}


async def reject(pool: asyncpg.Pool, actor: Actor, held_id: int, note: str) -> dict[str, Any]:
    """A second person rejects: nothing is booked, and the line becomes a treasury exception
    (money the bank says came back, which the books do not take)."""
    async with unit_of_work(pool) as conn:
        h = await _undecided(conn, actor, held_id)
        decided = await bank_books.decide_held_line(conn, held_id, "rejected", actor.subject, note)
        message = f"held line rejected by {actor.subject} (imported by {h['imported_by']}): {note}"
        await bank_books.open_exceptions(
            conn,
            [
                (
                    h["file_sha256"],
                    h["line"],
                    LineOutcome.HOLD_REJECTED.value,
                    h["payout_id"],
                    h["direction"],
                    h["amount_cny"],
                    None,
                    h["reference"],
                    message,
                )
            ],
        )
        detail = {"held_id": held_id, "imported_by": h["imported_by"], "rejected_by": actor.subject, "note": note}
        await audit_trail.append(conn, actor, [("bank_line.reject", str(h["payout_id"]), detail)])
    return document(decided)


async def refresh_gauge(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        n = await bank_books.count_held_lines(conn)
    UNDECIDED.set(n)
    return n
