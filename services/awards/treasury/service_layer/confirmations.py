"""The bank's confirmation file, booked in one transaction: the file is kept as received,
every line books what it says (money out, a clawback for money that should not have
left), is held for a second person (a settlement, a return) or opens a treasury
exception, and the events and audit rows go with it. Importing the same file again
books, holds and opens nothing new."""

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from services.awards.audit.adapters import audit_trail
from services.awards.audit.domain.audit import Actor
from services.awards.disbursement.adapters import disbursement_books as books
from services.awards.disbursement.service_layer.disbursement import CRASH_POINT
from services.awards.ledger.service_layer.messages import award_message, payout_fields
from services.awards.treasury.adapters import bank_books
from services.awards.treasury.domain.confirmations import (
    HEADER_WANTED,
    BadLine,
    Clawback,
    ConfirmationLine,
    LineOutcome,
    PayoutBook,
    judge,
    parse_confirmation,
)
from shared.contract.codec import OutgoingMessage
from shared.contract.errors import Invalid, NotFound
from shared.contract.events import ClawbackRaised, ClawbackSettled, PayoutCancelled, PayoutPaid, derived_id
from shared.messaging import outbox
from shared.process.clock import business_date
from shared.process.db import unit_of_work
from shared.process.failpoints import crash_point, pause_point

MAX_BYTES = 5_000_000


@dataclass
class Booking:
    """What a file's lines book, gathered line by line."""

    payments: list[tuple[uuid.UUID, str, int, date, str, int, bool]] = field(default_factory=list)
    clawbacks: list[tuple[str, uuid.UUID, str, int, str, date]] = field(default_factory=list)
    settled: list[tuple[str, date, str]] = field(default_factory=list)
    returned: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    held: list[bank_books.HeldRow] = field(default_factory=list)
    exceptions: list[bank_books.ExceptionRow] = field(default_factory=list)
    events: list[OutgoingMessage] = field(default_factory=list)
    audit: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


def read_file(raw: bytes) -> str:
    """The file's text (UTF-8, a BOM allowed), or why it is not a confirmation file."""
    if not raw.strip():
        raise Invalid("the body is the confirmation file (CSV); it is empty")
    if len(raw) > MAX_BYTES:
        raise Invalid(f"a confirmation file is at most {MAX_BYTES} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("a confirmation file is UTF-8 text") from exc


async def import_confirmation(pool: asyncpg.Pool, actor: Actor, raw: bytes) -> dict[str, Any]:
    text = read_file(raw)
    parsed = parse_confirmation(text)
    if parsed[:1] == [BadLine(1, HEADER_WANTED)]:
        raise Invalid(f"not a confirmation file: {HEADER_WANTED}")
    sha256 = hashlib.sha256(raw).hexdigest()  # of the bytes as received, a BOM included
    now = datetime.now(UTC)
    booking = Booking()
    async with unit_of_work(pool) as conn:
        await bank_books.keep_file(conn, sha256, raw, actor.subject)
        rows = await books.lock_payouts(conn, [p.payout_id for p in parsed if isinstance(p, ConfirmationLine)])
        run = _Import(sha256, now, actor.subject, rows, await bank_books.books_of(conn, rows), booking)
        answers = [run.bad(p) if isinstance(p, BadLine) else run.judged(p) for p in parsed]
        await bank_books.record_payments(conn, booking.payments)
        await books.raise_clawbacks(conn, booking.clawbacks)
        await bank_books.mark_settled(conn, booking.settled)
        await bank_books.mark_returned(conn, booking.returned)
        held = await bank_books.hold_lines(conn, booking.held)
        _answer_holds(answers, booking, held)
        opened = await bank_books.open_exceptions(conn, booking.exceptions)
        await pause_point("confirmation-import")  # fault tests: the books written, not committed
        await outbox.enqueue(conn, booking.events)
        counts = {o.value: sum(1 for a in answers if a["outcome"] == o.value) for o in LineOutcome}
        await audit_trail.append(
            conn,
            actor,
            [
                *booking.audit,
                ("confirmation.import", sha256, {k: v for k, v in counts.items() if v} | {"exceptions_opened": opened}),
            ],
        )
    crash_point(CRASH_POINT)
    changed = len(booking.payments) + len(booking.settled) + len(booking.returned)
    return {
        "file_sha256": sha256,
        "changed": changed,
        "held_for_confirmation": len(held),
        "exceptions_opened": opened,
        "lines": answers,
    }


@dataclass
class _Import:
    """One file's lines judged in order: each sees what the lines above it booked."""

    sha256: str
    now: datetime
    importer: str
    rows: dict[uuid.UUID, asyncpg.Record]
    ledger: dict[uuid.UUID, PayoutBook]
    booking: Booking

    def bad(self, p: BadLine) -> dict[str, Any]:
        self.booking.exceptions.append(
            (self.sha256, p.line, LineOutcome.INVALID_LINE.value, None, None, None, None, None, p.message)
        )
        return {"line": p.line, "outcome": LineOutcome.INVALID_LINE.value, "message": p.message}

    def judged(self, p: ConfirmationLine) -> dict[str, Any]:
        book = self.ledger.get(p.payout_id)
        verdict = judge(p, book)
        if verdict.after is not None and book is not None:
            self.ledger[p.payout_id] = verdict.after
            book_line(
                self.booking,
                p,
                verdict.outcome,
                before=book,
                after=verdict.after,
                row=self.rows[p.payout_id],
                sha256=self.sha256,
                now=self.now,
            )
            if verdict.held:
                self._hold(p, verdict.after)
        if verdict.opens_exception:
            expected = book.amount_cny if book is not None else None
            self.booking.exceptions.append(
                (
                    self.sha256,
                    p.line,
                    verdict.outcome.value,
                    p.payout_id,
                    p.direction.value,
                    p.amount_cny,
                    expected,
                    p.reference,
                    verdict.message,
                )
            )
        return {
            "line": p.line,
            "payout_id": str(p.payout_id),
            "outcome": verdict.outcome.value,
            "message": verdict.message,
        }

    def _hold(self, p: ConfirmationLine, after: PayoutBook) -> None:
        claw = next((c.clawback_id for c in after.clawbacks if c.held_reference == p.reference), None)
        self.booking.held.append(
            (
                self.sha256,
                p.line,
                p.direction.value,
                p.payout_id,
                claw,
                p.amount_cny,
                p.value_date,
                p.reference,
                self.importer,
            )
        )


def _answer_holds(answers: list[dict[str, Any]], booking: Booking, held: dict[int, int]) -> None:
    """Each held line's answer names its hold; a line of this file held before (and decided
    since) holds nothing new and says so."""
    lines = {a["line"]: a for a in answers}
    for row in booking.held:
        pid, line = row[3], row[1]
        answer = lines[line]
        if line in held:
            answer["held_id"] = held[line]
            detail = {"amount_cny": row[5], "reference": row[7], "file_sha256": row[0], "line": line}
            booking.audit.append(("bank_line.hold", str(pid), detail | {"direction": row[2], "held_id": held[line]}))
        else:
            answer["outcome"] = LineOutcome.ALREADY_HELD.value
            answer["message"] = "this line of this file was held before and decided; nothing changed"


def book_line(
    b: Booking,
    line: ConfirmationLine,
    outcome: LineOutcome,
    *,
    before: PayoutBook,
    after: PayoutBook,
    row: asyncpg.Record,
    sha256: str,
    now: datetime,
) -> None:
    """Gather what one line books (nothing for an exception that books nothing, or a repeat)."""
    pid, uscc = line.payout_id, row["enterprise_uscc"]
    detail = {"amount_cny": line.amount_cny, "reference": line.reference, "file_sha256": sha256, "line": line.line}
    if outcome in (LineOutcome.PAID, LineOutcome.PAID_AFTER_RECALL, LineOutcome.SECOND_DEBIT):
        first = not before.payments
        b.payments.append((pid, line.reference, line.amount_cny, line.value_date, sha256, line.line, first))
        event = PayoutPaid(
            **payout_fields(row),
            amount_cny=line.amount_cny,
            batch_id=row["batch_id"],
            paid_on=line.value_date,
            reference=line.reference,
        )
        # The payment keeps the id it always had; a second debit gets one of its own.
        event_id = derived_id("paid", pid) if first else derived_id("paid", pid, line.reference)
        b.events.append(award_message(event_id, "PayoutPaid", event, uscc, now))
        b.audit.append(("payout.paid" if first else "payout.second_debit", str(pid), detail))
    known = {c.clawback_id for c in before.clawbacks}
    for claw in (c for c in after.clawbacks if c.clawback_id not in known):
        b.clawbacks.append(
            (claw.clawback_id, pid, row["recipient_uscc"], claw.amount_cny, claw.reason_code, business_date(now))
        )
        b.events.append(_clawback_raised(row, claw, now))
        b.audit.append(
            ("clawback.raise", str(pid), {**detail, "clawback_id": claw.clawback_id, "amount_cny": claw.amount_cny})
        )
    if outcome is LineOutcome.SETTLED:
        settled = next(c for c in after.clawbacks if c.settled_reference == line.reference)
        b.settled.append((settled.clawback_id, line.value_date, line.reference))
        settled_event = ClawbackSettled(
            payout_id=pid,
            recipient_uscc=row["recipient_uscc"],
            enterprise_uscc=uscc,
            amount_cny=line.amount_cny,
            settled_on=line.value_date,
            reference=line.reference,
            clawback_id=settled.clawback_id,
        )
        b.events.append(
            award_message(_settled_id(pid, settled.clawback_id), "ClawbackSettled", settled_event, uscc, now)
        )
        b.audit.append(("clawback.settle", str(pid), {**detail, "clawback_id": settled.clawback_id}))
    if outcome is LineOutcome.RETURNED:
        b.returned.append((pid, line.reference))
        cancelled_event = PayoutCancelled(
            **payout_fields(row),
            amount_cny=before.amount_cny,
            reason_code=before.reversal_reason or "REVERSED",
            cancelled_on=business_date(now),
            returned_reference=line.reference,
        )
        b.events.append(award_message(derived_id("cancelled", pid), "PayoutCancelled", cancelled_event, uscc, now))
        b.audit.append(("payout.returned", str(pid), detail))


def _clawback_raised(row: asyncpg.Record, claw: Clawback, now: datetime) -> OutgoingMessage:
    pid = row["payout_id"]
    event = ClawbackRaised(
        **payout_fields(row),
        amount_cny=claw.amount_cny,
        reason_code=claw.reason_code,
        raised_on=business_date(now),
        clawback_id=claw.clawback_id,
    )
    # A reversal's clawback keeps the id it always had (one per payout); others their own.
    reversal = claw.clawback_id == f"reversal:{pid}"
    event_id = derived_id("clawback", pid) if reversal else derived_id("clawback", claw.clawback_id)
    return award_message(event_id, "ClawbackRaised", event, row["enterprise_uscc"], now)


def _settled_id(payout_id: uuid.UUID, clawback_id: str) -> uuid.UUID:
    if clawback_id == f"reversal:{payout_id}":
        return derived_id("clawback-settled", payout_id)
    return derived_id("clawback-settled", clawback_id)


async def confirmation_file(pool: asyncpg.Pool, sha256: str) -> bytes:
    """A confirmation file exactly as it was received."""
    async with pool.acquire() as conn:
        content = await bank_books.file_content(conn, sha256)
    if content is None:
        raise NotFound(f"no confirmation file with SHA-256 {sha256}")
    return content
