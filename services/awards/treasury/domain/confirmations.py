"""The bank's confirmation is a fact to record, not a request to check. Pure.

Each line of a confirmation file says money moved: the programme paid a recipient
(`paid`), a recipient paid a clawback back (`recovered`), or the bank stopped a recalled
payment and sent it back (`returned`). A line either books what it says, or finds the
books already say it (the same reference again), or opens a treasury exception for a
person to look at. Nothing is dropped: money that left under a new reference is booked
even when it should not have left — as an overpayment, with a clawback of its amount.

A line that would end a debt (a settlement) or end a recall (a return) is held instead:
the treasurer who imports the file could have written it, so it books nothing until a
second person with the approver's role confirms it, judged again against the books as
they are then (`judge(..., confirming=True)`).
"""

import csv
import dataclasses
import io
import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from services.awards.disbursement.domain.disbursement import (
    OnReversal,
    Stage,
    on_reversal,
    overpayment_clawback_id,
    reversal_clawback_id,
)

CONFIRMATION_HEADER = ("payout_id", "direction", "amount_cny", "value_date", "reference")
OPTIONAL_COLUMN = "clawback_id"  # a `recovered` line may name the clawback it settles
HEADER_WANTED = f"the header must be {','.join(CONFIRMATION_HEADER)}[,{OPTIONAL_COLUMN}]"


class Direction(StrEnum):
    PAID = "paid"  # the programme paid the recipient
    RECOVERED = "recovered"  # the recipient paid a clawback back
    RETURNED = "returned"  # the bank stopped a recalled payment: the money came back


@dataclass(frozen=True, slots=True)
class ConfirmationLine:
    line: int  # 1-based, the header is line 1
    payout_id: uuid.UUID
    direction: Direction
    amount_cny: int
    value_date: date
    reference: str
    clawback_id: str | None = None


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    message: str


def parse_confirmation(text: str) -> list[ConfirmationLine | BadLine]:
    """Every line of a confirmation CSV, parsed or with why not: a bad line does not stop
    the good ones, and each is answered."""
    rows = list(csv.reader(io.StringIO(text)))
    header = tuple(c.strip() for c in rows[0]) if rows else ()
    if header not in (CONFIRMATION_HEADER, (*CONFIRMATION_HEADER, OPTIONAL_COLUMN)):
        return [BadLine(1, HEADER_WANTED)]
    out: list[ConfirmationLine | BadLine] = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        out.append(_line(n, [c.strip() for c in row], len(header)))
    return out


def _line(n: int, row: list[str], width: int) -> ConfirmationLine | BadLine:
    if len(row) != width:
        return BadLine(n, f"{len(row)} fields; a line has {width}")
    payout, direction, amount, value_date, reference = row[:5]
    clawback = (row[5] if width > 5 else "") or None
    try:
        pid = uuid.UUID(payout)
    except ValueError:
        return BadLine(n, f"payout_id {payout!r} is not a UUID")
    if direction not in {d.value for d in Direction}:
        return BadLine(n, f"direction {direction!r} is none of paid, recovered, returned")
    if not amount.isdigit() or int(amount) <= 0:
        return BadLine(n, f"amount_cny {amount!r} is not a positive whole number of yuan")
    try:
        day = date.fromisoformat(value_date)
    except ValueError:
        return BadLine(n, f"value_date {value_date!r} is not a date written YYYY-MM-DD")
    if not reference or len(reference) > 100:
        return BadLine(n, "reference must be 1 to 100 characters")
    if clawback is not None and direction != Direction.RECOVERED:
        return BadLine(n, "only a recovered line names a clawback")
    return ConfirmationLine(n, pid, Direction(direction), int(amount), day, reference, clawback)


# --- what the books say of one payout ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Clawback:
    """Money a recipient owes back, keyed by what caused it: the reversal of a paid payout,
    or one overpayment (a second debit under its own bank reference)."""

    clawback_id: str
    amount_cny: int
    reason_code: str
    settled_reference: str | None = None
    held_reference: str | None = None  # a settlement awaiting a second person

    @property
    def open(self) -> bool:
        return self.settled_reference is None


@dataclass(frozen=True, slots=True)
class PayoutBook:
    payout_id: uuid.UUID
    stage: Stage
    amount_cny: int
    released: bool  # in a batch an approver released
    reversal_reason: str | None = None  # the rules reversed it: why
    payments: tuple[tuple[str, int], ...] = ()  # (bank reference, CNY) of money that left; first = the payment
    returned_reference: str | None = None
    clawbacks: tuple[Clawback, ...] = ()
    held_return: str | None = None  # a return awaiting a second person: its reference

    @property
    def references(self) -> tuple[str, ...]:
        return tuple(ref for ref, _ in self.payments)

    @property
    def money_out_cny(self) -> int:
        """What left for this payout: its payment and every overpayment."""
        return sum(cny for _, cny in self.payments)

    @property
    def recovered_cny(self) -> int:
        return sum(c.amount_cny for c in self.clawbacks if not c.open)

    @property
    def outstanding_cny(self) -> int:
        return sum(c.amount_cny for c in self.clawbacks if c.open)

    @property
    def entitled_cny(self) -> int:
        """What the recipient may keep: the payout, if it was paid and never reversed."""
        return self.amount_cny if self.payments and self.reversal_reason is None else 0


# --- judging one line ---------------------------------------------------------------------


class LineOutcome(StrEnum):
    PAID = "paid"
    PAID_AFTER_RECALL = "paid_after_recall"  # booked paid, and a clawback raised at once
    SECOND_DEBIT = "second_debit"  # booked as an overpayment with a clawback
    RETURNED = "returned"
    SETTLED = "settled"
    RETURN_HELD = "return_held"  # for a second person to confirm; the recall stays requested
    SETTLEMENT_HELD = "settlement_held"  # for a second person to confirm; the clawback stays open
    ALREADY_PAID = "already_paid"
    ALREADY_RETURNED = "already_returned"
    ALREADY_SETTLED = "already_settled"
    ALREADY_HELD = "already_held"
    UNKNOWN_PAYOUT = "unknown_payout"
    CANCELLED = "cancelled"
    NOT_RELEASED = "not_released"
    NOT_RECALLED = "not_recalled"
    NO_CLAWBACK = "no_clawback"
    CLAWBACK_NOT_NAMED = "clawback_not_named"
    AMOUNT_MISMATCH = "amount_mismatch"
    INVALID_LINE = "invalid_line"
    HOLD_REJECTED = "hold_rejected"  # a second person rejected a held line


# Lines that are not a plain match: each opens one treasury exception.
EXCEPTIONS = frozenset(
    {
        LineOutcome.SECOND_DEBIT,
        LineOutcome.UNKNOWN_PAYOUT,
        LineOutcome.CANCELLED,
        LineOutcome.NOT_RELEASED,
        LineOutcome.NOT_RECALLED,
        LineOutcome.NO_CLAWBACK,
        LineOutcome.CLAWBACK_NOT_NAMED,
        LineOutcome.AMOUNT_MISMATCH,
        LineOutcome.INVALID_LINE,
    }
)


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: LineOutcome
    message: str
    after: PayoutBook | None  # the books after the line (unchanged when nothing is booked)
    paid: bool = False  # money left under the line's reference
    raised: Clawback | None = None
    settled: str | None = None  # the clawback settled
    returned: bool = False
    held: bool = False  # booked nothing: a second person confirms it first

    @property
    def opens_exception(self) -> bool:
        return self.outcome in EXCEPTIONS


def judge(line: ConfirmationLine, book: PayoutBook | None, *, confirming: bool = False) -> Verdict:
    """What one line does to the books of its payout (None: no such payout). A settlement
    or a return is held; `confirming`: a second person confirms that held line, so it
    books what it says if the books still allow it."""
    if book is None:
        return Verdict(LineOutcome.UNKNOWN_PAYOUT, f"no payout {line.payout_id}; an exception is open", None)
    if line.direction is Direction.PAID:
        return _paid(line, book)
    if confirming:
        # The clawback the line was held for, even if others were raised since.
        held_for = next((c.clawback_id for c in book.clawbacks if c.held_reference == line.reference), None)
        line = dataclasses.replace(line, clawback_id=line.clawback_id or held_for)
        book = without_hold(book, line.reference)
    if line.direction is Direction.RETURNED:
        return _returned(line, book, confirming)
    return _recovered(line, book, confirming)


def without_hold(b: PayoutBook, reference: str) -> PayoutBook:
    claws = tuple(
        dataclasses.replace(c, held_reference=None) if c.held_reference == reference else c for c in b.clawbacks
    )
    held_return = None if b.held_return == reference else b.held_return
    return dataclasses.replace(b, clawbacks=claws, held_return=held_return)


def _already_held(line: ConfirmationLine, b: PayoutBook) -> Verdict:
    message = f"held before ({line.reference}) for a second person to confirm; nothing changed"
    return Verdict(LineOutcome.ALREADY_HELD, message, b)


def _paid(line: ConfirmationLine, b: PayoutBook) -> Verdict:
    if line.reference in b.references:
        return Verdict(LineOutcome.ALREADY_PAID, f"paid before (reference {line.reference}); nothing changed", b)
    if b.payments:
        claw = Clawback(overpayment_clawback_id(b.payout_id, line.reference), line.amount_cny, "SECOND_DEBIT")
        paid = (*b.payments, (line.reference, line.amount_cny))
        after = dataclasses.replace(b, payments=paid, clawbacks=(*b.clawbacks, claw))
        message = (
            f"a second debit: paid before under {b.references[0]}; {line.amount_cny} CNY booked as an overpayment, "
            f"clawback {claw.clawback_id} raised, an exception is open"
        )
        return Verdict(LineOutcome.SECOND_DEBIT, message, after, paid=True, raised=claw)
    if b.stage in (Stage.CANCELLED, Stage.REVERSED):
        return Verdict(LineOutcome.CANCELLED, "the payout was cancelled before its file left; an exception is open", b)
    if b.stage not in (Stage.BATCHED, Stage.RECALL_REQUESTED) or not b.released:
        return Verdict(
            LineOutcome.NOT_RELEASED, f"the payout is {b.stage}, not in a released batch; an exception is open", b
        )
    if line.amount_cny != b.amount_cny:
        return _amount_mismatch(line, b)
    after = dataclasses.replace(b, stage=Stage.PAID, payments=((line.reference, line.amount_cny),))
    if b.stage is Stage.RECALL_REQUESTED:
        claw = Clawback(reversal_clawback_id(b.payout_id), b.amount_cny, b.reversal_reason or "REVERSED")
        after = dataclasses.replace(after, clawbacks=(*b.clawbacks, claw))
        message = f"{line.amount_cny} CNY paid although recalled; clawback {claw.clawback_id} raised"
        return Verdict(LineOutcome.PAID_AFTER_RECALL, message, after, paid=True, raised=claw)
    return Verdict(LineOutcome.PAID, f"{line.amount_cny} CNY paid", after, paid=True)


def _amount_mismatch(line: ConfirmationLine, b: PayoutBook) -> Verdict:
    return Verdict(
        LineOutcome.AMOUNT_MISMATCH,
        f"the payout is {b.amount_cny} CNY, the line says {line.amount_cny}; an exception is open",
        b,
    )


def _returned(line: ConfirmationLine, b: PayoutBook, confirming: bool) -> Verdict:
    if b.returned_reference == line.reference:
        return Verdict(LineOutcome.ALREADY_RETURNED, f"returned before ({line.reference}); nothing changed", b)
    if b.held_return == line.reference:
        return _already_held(line, b)
    if b.held_return is not None:
        message = f"a return ({b.held_return}) already awaits a second person's confirmation; an exception is open"
        return Verdict(LineOutcome.NOT_RECALLED, message, b)
    if b.stage is not Stage.RECALL_REQUESTED:
        return Verdict(
            LineOutcome.NOT_RECALLED, f"the payout is {b.stage}, no recall awaits an answer; an exception is open", b
        )
    if line.amount_cny != b.amount_cny:
        return _amount_mismatch(line, b)
    if not confirming:
        message = "the bank says it stopped the payment: held until a second person confirms; the recall stands"
        return Verdict(LineOutcome.RETURN_HELD, message, dataclasses.replace(b, held_return=line.reference), held=True)
    after = dataclasses.replace(b, stage=Stage.CANCELLED, returned_reference=line.reference)
    return Verdict(LineOutcome.RETURNED, "the bank stopped the payment: cancelled", after, returned=True)


def _recovered(line: ConfirmationLine, b: PayoutBook, confirming: bool) -> Verdict:
    if any(c.settled_reference == line.reference for c in b.clawbacks):
        return Verdict(LineOutcome.ALREADY_SETTLED, f"settled before (reference {line.reference}); nothing changed", b)
    if any(c.held_reference == line.reference for c in b.clawbacks):
        return _already_held(line, b)
    claw = _clawback_to_settle(line, b)
    if isinstance(claw, Verdict):
        return claw
    if confirming:
        return _settle(line, b, claw)
    held = dataclasses.replace(claw, held_reference=line.reference)
    message = (
        f"{claw.amount_cny} CNY received for clawback {claw.clawback_id}: held until a second person confirms; "
        "the clawback stays open"
    )
    after = dataclasses.replace(b, clawbacks=tuple(held if c is claw else c for c in b.clawbacks))
    return Verdict(LineOutcome.SETTLEMENT_HELD, message, after, held=True)


def _clawback_to_settle(line: ConfirmationLine, b: PayoutBook) -> Clawback | Verdict:
    """The one open clawback the line settles, or the exception it opens instead. A
    clawback whose settlement is held is not settled twice over."""
    candidates = [
        c for c in b.clawbacks if c.open and c.held_reference is None and line.clawback_id in (None, c.clawback_id)
    ]
    if not candidates:
        return Verdict(
            LineOutcome.NO_CLAWBACK,
            f"money received, but no open clawback on payout {line.payout_id} to settle; an exception is open",
            b,
        )
    if len(candidates) > 1:
        named = ", ".join(c.clawback_id for c in candidates)
        return Verdict(
            LineOutcome.CLAWBACK_NOT_NAMED,
            f"several clawbacks are open ({named}): name one in the {OPTIONAL_COLUMN} column; an exception is open",
            b,
        )
    claw = candidates[0]
    if line.amount_cny != claw.amount_cny:
        return Verdict(
            LineOutcome.AMOUNT_MISMATCH,
            f"the clawback is {claw.amount_cny} CNY, the line says {line.amount_cny}; an exception is open",
            b,
        )
    return claw


def _settle(line: ConfirmationLine, b: PayoutBook, claw: Clawback) -> Verdict:
    settled = dataclasses.replace(claw, settled_reference=line.reference)
    after = dataclasses.replace(b, clawbacks=tuple(settled if c is claw else c for c in b.clawbacks))
    return Verdict(
        LineOutcome.SETTLED,
        f"clawback {claw.clawback_id} of {claw.amount_cny} CNY settled",
        after,
        settled=claw.clawback_id,
    )


def reversed_by_rules(book: PayoutBook, reason_code: str) -> tuple[PayoutBook, Clawback | None]:
    """The books of a payout after the rules reverse it; a paid one owes its amount back."""
    effect = on_reversal(book.stage, released=book.released)
    after = dataclasses.replace(book, reversal_reason=reason_code)
    if book.stage is Stage.OWED:
        return dataclasses.replace(after, stage=Stage.REVERSED), None
    if effect is OnReversal.CANCEL:
        return dataclasses.replace(after, stage=Stage.CANCELLED), None
    if effect is OnReversal.RECALL:
        return dataclasses.replace(after, stage=Stage.RECALL_REQUESTED), None
    if effect is OnReversal.CLAWBACK and not any(
        c.clawback_id == reversal_clawback_id(book.payout_id) for c in book.clawbacks
    ):
        claw = Clawback(reversal_clawback_id(book.payout_id), book.amount_cny, reason_code)
        return dataclasses.replace(after, clawbacks=(*book.clawbacks, claw)), claw
    return after, None
