"""From owed to paid, and back: the disbursement rules. Pure.

A payout the rules issue is owed. An approver approves it; a treasurer puts approved
payouts into a payment batch, which another approver releases (four eyes); the bank's
confirmation books it paid (`confirmations.py`). A reversal cancels a payout whose file
has not left, asks the treasury to recall one whose batch was released, and raises a
clawback on a paid one; the recipient's repayment, confirmed the same way, settles it.
"""

import uuid
from enum import StrEnum


class Stage(StrEnum):
    OWED = "owed"
    REVERSED = "reversed"  # reversed by the rules while only owed: nothing to undo
    APPROVED = "approved"
    BATCHED = "batched"
    RECALL_REQUESTED = "recall_requested"  # reversed after its batch was released: stop it
    PAID = "paid"
    CANCELLED = "cancelled"  # reversed before its file left, or returned by the bank


def stage_of(status: str, state: str | None) -> Stage:
    """`status` of the payout ledger (issued | reversed), `state` of its disbursement row."""
    if state is None:
        return Stage.OWED if status == "issued" else Stage.REVERSED
    return Stage(state)


class ApprovalOutcome(StrEnum):
    APPROVED = "approved"
    ALREADY_APPROVED = "already_approved"
    NOT_OWED = "not_owed"
    HELD_FOR_RECALL = "held_for_recall"  # its predecessor's recall is not answered yet
    UNKNOWN_PAYOUT = "unknown_payout"


def approve(stage: Stage | None, *, predecessor_recalled: bool = False) -> ApprovalOutcome:
    """`predecessor_recalled`: a payout of the same enterprise, rule and recipient role waits
    for the bank's answer to a recall; until it is returned or paid, its replacement is held
    (else both could be paid)."""
    if stage is None:
        return ApprovalOutcome.UNKNOWN_PAYOUT
    if stage is Stage.OWED:
        return ApprovalOutcome.HELD_FOR_RECALL if predecessor_recalled else ApprovalOutcome.APPROVED
    if stage in (Stage.APPROVED, Stage.BATCHED, Stage.RECALL_REQUESTED, Stage.PAID):
        return ApprovalOutcome.ALREADY_APPROVED
    return ApprovalOutcome.NOT_OWED


class OnReversal(StrEnum):
    NOTHING = "nothing"
    CANCEL = "cancel"  # its file has not left: it will not be paid
    RECALL = "recall"  # its released file may be at the bank: ask the treasury to stop it
    CLAWBACK = "clawback"


def on_reversal(stage: Stage, *, released: bool) -> OnReversal:
    """What a reversal by the rules does to a payout at `stage` (`released`: its batch was
    released). A released line is never cancelled by the office: only the bank's answer
    (returned, or paid) ends it."""
    if stage is Stage.APPROVED or (stage is Stage.BATCHED and not released):
        return OnReversal.CANCEL
    if stage is Stage.BATCHED:
        return OnReversal.RECALL
    if stage is Stage.PAID:
        return OnReversal.CLAWBACK
    return OnReversal.NOTHING


def four_eyes(prepared_by: str, approver: str) -> str | None:
    """Why `approver` may not release a batch `prepared_by` prepared, or None."""
    if prepared_by == approver:
        return f"four eyes: {approver} prepared this batch and cannot also approve it"
    return None


def release_refusal(reversed_lines: list[str]) -> str | None:
    """Why a batch may not be released: lines reversed since it was prepared (their money
    must not leave); the treasurer voids it and prepares a new one."""
    if not reversed_lines:
        return None
    named = ", ".join(sorted(reversed_lines))
    return f"lines reversed since the batch was prepared: {named}; void this batch and prepare a new one"


def net_position(paid_cny: int, recovered_cny: int) -> int:
    """What a recipient holds of the programme's money: paid - recovered. Every clawback is
    for money that left and settles only for its own amount, so this is never negative;
    if it is, the books are wrong and nobody should act on them."""
    net = paid_cny - recovered_cny
    if net < 0:
        raise ValueError(f"recovered {recovered_cny} exceeds paid {paid_cny}")
    return net


# Clawbacks are keyed by what caused them: the reversal of a paid payout, or one
# overpayment (a second debit under its own bank reference).
def reversal_clawback_id(payout_id: uuid.UUID) -> str:
    return f"reversal:{payout_id}"


def overpayment_clawback_id(payout_id: uuid.UUID, reference: str) -> str:
    return f"overpayment:{payout_id}:{reference}"
