"""From owed to paid, and back: the disbursement rules. Pure.

A payout the rules issue is owed. An approver approves it; a treasurer puts approved
payouts into a payment batch, which another approver releases (four eyes); the treasury's
confirmation marks it paid. A reversal cancels a payout not yet paid and raises a
clawback on a paid one; the recipient's repayment, confirmed the same way, settles it.
"""

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Stage(StrEnum):
    OWED = "owed"
    REVERSED = "reversed"  # reversed by the rules while only owed: nothing to undo
    APPROVED = "approved"
    BATCHED = "batched"
    PAID = "paid"
    CANCELLED = "cancelled"  # reversed after approval, before payment


def stage_of(status: str, state: str | None) -> Stage:
    """`status` of the payout ledger (issued | reversed), `state` of its disbursement row."""
    if state is None:
        return Stage.OWED if status == "issued" else Stage.REVERSED
    return Stage(state)


class ApprovalOutcome(StrEnum):
    APPROVED = "approved"
    ALREADY_APPROVED = "already_approved"
    NOT_OWED = "not_owed"
    UNKNOWN_PAYOUT = "unknown_payout"


def approve(stage: Stage | None) -> ApprovalOutcome:
    if stage is None:
        return ApprovalOutcome.UNKNOWN_PAYOUT
    if stage is Stage.OWED:
        return ApprovalOutcome.APPROVED
    if stage in (Stage.APPROVED, Stage.BATCHED, Stage.PAID):
        return ApprovalOutcome.ALREADY_APPROVED
    return ApprovalOutcome.NOT_OWED


class OnReversal(StrEnum):
    NOTHING = "nothing"
    CANCEL = "cancel"
    CLAWBACK = "clawback"


def on_reversal(stage: Stage) -> OnReversal:
    if stage in (Stage.APPROVED, Stage.BATCHED):
        return OnReversal.CANCEL
    if stage is Stage.PAID:
        return OnReversal.CLAWBACK
    return OnReversal.NOTHING


def four_eyes(prepared_by: str, approver: str) -> str | None:
    """Why `approver` may not release a batch `prepared_by` prepared, or None."""
    if prepared_by == approver:
        return f"four eyes: {approver} prepared this batch and cannot also approve it"
    return None


def net_position(paid_cny: int, recovered_cny: int) -> int:
    """What a recipient holds of the programme's money: paid - recovered. A clawback is
    raised once per paid payout for its amount and settles only for that amount, so this
    is never negative; if it is, the books are wrong and nobody should act on them."""
    net = paid_cny - recovered_cny
    if net < 0:
        raise ValueError(f"recovered {recovered_cny} exceeds paid {paid_cny}")
    return net


# --- the treasury's confirmation file --------------------------------------------------

CONFIRMATION_HEADER = ("payout_id", "direction", "amount_cny", "value_date", "reference")
HEADER_WANTED = f"the header must be {','.join(CONFIRMATION_HEADER)}"


class Direction(StrEnum):
    PAID = "paid"  # the programme paid the recipient
    RECOVERED = "recovered"  # the recipient paid a clawback back


@dataclass(frozen=True, slots=True)
class ConfirmationLine:
    line: int  # 1-based, the header is line 1
    payout_id: uuid.UUID
    direction: Direction
    amount_cny: int
    value_date: date
    reference: str


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    message: str


def parse_confirmation(text: str) -> list[ConfirmationLine | BadLine]:
    """Every line of a confirmation CSV, parsed or with why not: a bad line does not stop
    the good ones, and each is answered."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(c.strip() for c in rows[0]) != CONFIRMATION_HEADER:
        return [BadLine(1, HEADER_WANTED)]
    out: list[ConfirmationLine | BadLine] = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        out.append(_line(n, [c.strip() for c in row]))
    return out


def _line(n: int, row: list[str]) -> ConfirmationLine | BadLine:
    if len(row) != len(CONFIRMATION_HEADER):
        return BadLine(n, f"{len(row)} fields; a line has {len(CONFIRMATION_HEADER)}")
    payout, direction, amount, value_date, reference = row
    try:
        pid = uuid.UUID(payout)
    except ValueError:
        return BadLine(n, f"payout_id {payout!r} is not a UUID")
    if direction not in {d.value for d in Direction}:
        return BadLine(n, f"direction {direction!r} is neither paid nor recovered")
    if not amount.isdigit() or int(amount) <= 0:
        return BadLine(n, f"amount_cny {amount!r} is not a positive whole number of yuan")
    try:
        day = date.fromisoformat(value_date)
    except ValueError:
        return BadLine(n, f"value_date {value_date!r} is not a date written YYYY-MM-DD")
    if not reference or len(reference) > 100:
        return BadLine(n, "reference must be 1 to 100 characters")
    return ConfirmationLine(n, pid, Direction(direction), int(amount), day, reference)


class LineOutcome(StrEnum):
    PAID = "paid"
    SETTLED = "settled"
    ALREADY_PAID = "already_paid"
    ALREADY_SETTLED = "already_settled"
    UNKNOWN_PAYOUT = "unknown_payout"
    CANCELLED = "cancelled"
    NOT_RELEASED = "not_released"  # not in a payment batch an approver released
    NO_CLAWBACK = "no_clawback"
    AMOUNT_MISMATCH = "amount_mismatch"
    REPEATED_IN_FILE = "repeated_in_file"
    INVALID_LINE = "invalid_line"


CHANGES = frozenset({LineOutcome.PAID, LineOutcome.SETTLED})


@dataclass(frozen=True, slots=True)
class Standing:
    """What the books say of one payout when a confirmation line names it."""

    stage: Stage
    amount_cny: int
    released: bool  # in a batch an approver released
    paid_reference: str | None
    clawback_cny: int | None  # a clawback raised on it
    settled_reference: str | None


def judge(line: ConfirmationLine, standing: Standing | None) -> tuple[LineOutcome, str]:
    """What one confirmation line does: only PAID and SETTLED change anything."""
    if standing is None:
        return LineOutcome.UNKNOWN_PAYOUT, f"no payout {line.payout_id}; nothing changed"
    if line.direction is Direction.PAID:
        return _paid(line, standing)
    if standing.clawback_cny is None:
        return LineOutcome.NO_CLAWBACK, f"no clawback was raised on payout {line.payout_id}; nothing changed"
    if standing.settled_reference is not None:
        return (
            LineOutcome.ALREADY_SETTLED,
            f"the clawback was settled before (reference {standing.settled_reference}); nothing changed",
        )
    if line.amount_cny != standing.clawback_cny:
        return (
            LineOutcome.AMOUNT_MISMATCH,
            f"the clawback is {standing.clawback_cny} CNY, the line says {line.amount_cny}; nothing changed",
        )
    return LineOutcome.SETTLED, f"clawback of {line.amount_cny} CNY settled"


def _paid(line: ConfirmationLine, s: Standing) -> tuple[LineOutcome, str]:
    if s.paid_reference is not None:
        return LineOutcome.ALREADY_PAID, f"paid before (reference {s.paid_reference}); nothing changed"
    if s.stage is Stage.CANCELLED or s.stage is Stage.REVERSED:
        return LineOutcome.CANCELLED, "the payout was reversed before payment; nothing changed, follow up with the bank"
    if s.stage is not Stage.BATCHED or not s.released:
        return LineOutcome.NOT_RELEASED, f"the payout is {s.stage}, not in a released payment batch; nothing changed"
    if line.amount_cny != s.amount_cny:
        return (
            LineOutcome.AMOUNT_MISMATCH,
            f"the payout is {s.amount_cny} CNY, the line says {line.amount_cny}; nothing changed",
        )
    return LineOutcome.PAID, f"{line.amount_cny} CNY paid"
