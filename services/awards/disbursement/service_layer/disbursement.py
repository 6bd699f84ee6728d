"""Disbursement use cases: each is one transaction that changes the books, enqueues its
events (outbox) and appends its audit rows together, so an approval, a cancellation or a
clawback exists exactly when its event will be published, once. What the bank says is
`confirmations.py`."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.awards.audit.adapters import audit_trail
from services.awards.audit.domain.audit import RULES_ACTOR, Actor
from services.awards.disbursement.adapters import disbursement_books as books
from services.awards.disbursement.adapters import payment_files
from services.awards.disbursement.domain.disbursement import (
    ApprovalOutcome,
    OnReversal,
    approve,
    four_eyes,
    on_reversal,
    release_refusal,
    reversal_clawback_id,
    stage_of,
)
from services.awards.disbursement.domain.owed_filter import Matching, OwedFilter, changed_since_seen
from services.awards.ledger.adapters import ledger, redecisions
from services.awards.ledger.domain.consequences import PaidAwardsLowered, PayoutsReversed
from services.awards.ledger.domain.reconcile import Reversal
from services.awards.ledger.service_layer.messages import award_message, payout_fields
from services.awards.policy.domain.policy import REGION
from shared.contract.codec import OutgoingMessage
from shared.contract.errors import Conflict, NotAllowed, NotFound
from shared.contract.events import ClawbackRaised, PayoutApproved, PayoutCancelled, PayoutRecallRequested, derived_id
from shared.messaging import outbox
from shared.process import locks
from shared.process.clock import business_date
from shared.process.db import unit_of_work
from shared.process.failpoints import crash_point

# XJ_CRASH_FILE's failpoint between a disbursement's commit and its events' relay.
CRASH_POINT = "awards-disbursement"


async def approve_payouts(pool: asyncpg.Pool, actor: Actor, payout_ids: Sequence[uuid.UUID]) -> list[dict[str, str]]:
    async with unit_of_work(pool) as conn:
        results = await _approve(conn, actor, list(dict.fromkeys(payout_ids)))
    crash_point(CRASH_POINT)
    return results


async def approve_matching(pool: asyncpg.Pool, actor: Actor, f: OwedFilter, seen: Matching) -> list[dict[str, str]]:
    """Approve every owed payout matching `f` — if they are still the ones the officer saw
    (their count and total CNY); else refuse and approve nothing."""
    async with unit_of_work(pool) as conn:
        now_matching, ids = await books.lock_owed_matching(conn, f)
        if (why := changed_since_seen(seen, now_matching)) is not None:
            raise Conflict(why)
        results = await _approve(conn, actor, ids)
    crash_point(CRASH_POINT)
    return results


async def _approve(conn: asyncpg.Connection, actor: Actor, ids: list[uuid.UUID]) -> list[dict[str, str]]:
    now = datetime.now(UTC)
    rows = await books.lock_payouts(conn, ids)
    held = await books.recalled_predecessors(conn, ids)
    results: list[dict[str, str]] = []
    approved: list[asyncpg.Record] = []
    for pid in ids:
        r = rows.get(pid)
        outcome = approve(books.stage(r) if r else None, predecessor_recalled=pid in held)
        results.append({"payout_id": str(pid), "outcome": outcome.value, "message": _approval_message(outcome, r)})
        if outcome is ApprovalOutcome.APPROVED and r is not None:
            approved.append(r)
    await books.mark_approved(conn, approved, actor.subject)
    await outbox.enqueue(conn, [_approved(r, actor, now) for r in approved])
    await audit_trail.append(
        conn, actor, [("payout.approve", str(r["payout_id"]), {"amount_cny": r["amount_cny"]}) for r in approved]
    )
    return results


def _approval_message(outcome: ApprovalOutcome, r: asyncpg.Record | None) -> str:
    if outcome is ApprovalOutcome.APPROVED:
        return f"approved {r['amount_cny']} CNY to {r['recipient_uscc']}" if r else ""
    if outcome is ApprovalOutcome.ALREADY_APPROVED:
        return "approved before; nothing changed"
    if outcome is ApprovalOutcome.HELD_FOR_RECALL:
        return "held: an earlier payout of this award awaits the bank's answer to a recall; nothing changed"
    if outcome is ApprovalOutcome.NOT_OWED:
        return f"the payout is {books.stage(r) if r else '?'}, not owed; nothing changed"
    return "no such payout; nothing changed"


def _approved(r: asyncpg.Record, actor: Actor, now: datetime) -> OutgoingMessage:
    event = PayoutApproved(
        **payout_fields(r), amount_cny=r["amount_cny"], approved_by=actor.subject, approved_on=business_date(now)
    )
    return award_message(derived_id("approved", r["payout_id"]), "PayoutApproved", event, r["enterprise_uscc"], now)


async def prepare_batch(
    pool: asyncpg.Pool, actor: Actor, limit: int, only: Sequence[uuid.UUID] | None, funding: str = REGION
) -> dict[str, Any]:
    """A batch pays from one budget: the region's, or one prefecture's account."""
    batch_id = uuid.uuid4()
    now = datetime.now(UTC)
    async with unit_of_work(pool) as conn:
        taken = await books.take_approved(conn, batch_id, limit, only, funding)
        if not taken:
            raise Conflict(f"no approved payout funded by {funding} waits for a payment batch")
        files = payment_files.render(batch_id, taken, now)
        stored = {kind: (content, payment_files.sha256(content)) for kind, content in files.items()}
        total = sum(p["amount_cny"] for p in taken)
        row = await books.store_batch(
            conn,
            batch_id=batch_id,
            funding=funding,
            prepared_by=actor.subject,
            payouts=len(taken),
            total_cny=total,
            files=stored,
        )
        await audit_trail.append(
            conn,
            actor,
            [
                (
                    "batch.prepare",
                    str(batch_id),
                    {
                        "funding": funding,
                        "payouts": len(taken),
                        "total_cny": total,
                        **{f"{k}_sha256": v[1] for k, v in stored.items()},
                    },
                )
            ],
        )
    return batch_document(row)


def batch_document(b: asyncpg.Record) -> dict[str, Any]:
    return {
        "batch_id": str(b["batch_id"]),
        "funding": b["funding"],
        "prepared_by": b["prepared_by"],
        "prepared_at": b["prepared_at"].isoformat(),
        "approved_by": b["approved_by"],
        "approved_at": b["approved_at"].isoformat() if b["approved_at"] else None,
        "released": b["approved_by"] is not None,
        "voided_by": b["voided_by"],
        "voided_at": b["voided_at"].isoformat() if b["voided_at"] else None,
        "payouts": b["payouts"],
        "total_cny": b["total_cny"],
        "csv_sha256": b["csv_sha256"],
        "xlsx_sha256": b["xlsx_sha256"],
    }


async def release_batch(pool: asyncpg.Pool, actor: Actor, batch_id: uuid.UUID) -> dict[str, Any]:
    """Four eyes: another approver than the preparer; a batch holding a line reversed since
    it was prepared is refused with the lines named (the treasurer voids it). Releasing
    twice changes nothing."""
    async with unit_of_work(pool) as conn:
        # An adoption waits for this release, or this release for the adoption to commit.
        await locks.hold_shared(conn, locks.AWARDS_POLICY)
        b = await _locked_batch(conn, batch_id)
        if b["voided_by"] is not None:
            raise Conflict(f"the batch was voided by {b['voided_by']}; prepare a new one")
        if b["approved_by"] is None:
            why = four_eyes(b["prepared_by"], actor.subject)
            if why:
                raise NotAllowed(why)
            waiting = await redecisions.batch_waits_for_redecision(conn, batch_id)
            if waiting:
                raise Conflict(
                    f"an adopted policy version is still being applied to {len(waiting)} enterprise(s) in this batch "
                    f"({', '.join(waiting[:5])}): their amounts may change; release it once they are re-decided"
                )
            refusal = release_refusal([str(p) for p in await books.reversed_lines(conn, batch_id)])
            if refusal:
                raise Conflict(refusal)
            b = await books.mark_released(conn, batch_id, actor.subject)
            await audit_trail.append(conn, actor, [("batch.approve", str(batch_id), {"total_cny": b["total_cny"]})])
    return batch_document(b)


async def _locked_batch(conn: asyncpg.Connection, batch_id: uuid.UUID) -> asyncpg.Record:
    b = await books.batch(conn, batch_id, lock=True)
    if b is None:
        raise NotFound(f"no payment batch {batch_id}")
    return b


async def void_batch(pool: asyncpg.Pool, actor: Actor, batch_id: uuid.UUID) -> dict[str, Any]:
    """A batch that must not leave: its lines still batched go back to approved (ready for
    a new batch); lines reversed since stay cancelled. Only before release."""
    async with unit_of_work(pool) as conn:
        b = await _locked_batch(conn, batch_id)
        if b["approved_by"] is not None:
            raise Conflict(f"the batch was released by {b['approved_by']}; its file may be at the bank")
        if b["voided_by"] is None:
            b, back = await books.mark_voided(conn, batch_id, actor.subject)
            await audit_trail.append(conn, actor, [("batch.void", str(batch_id), {"lines_back_to_approved": back})])
    return batch_document(b)


async def batch_file(pool: asyncpg.Pool, batch_id: uuid.UUID, kind: str) -> tuple[bytes, str]:
    """(the file exactly as prepared, its SHA-256): only once another approver released it,
    so what reaches the bank has had four eyes."""
    async with pool.acquire() as conn:
        b = await books.batch(conn, batch_id)
        found = await books.batch_file(conn, batch_id, kind)
    if b is None or found is None:
        raise NotFound(f"no payment batch {batch_id}")
    if b["voided_by"] is not None:
        raise Conflict(f"the batch was voided by {b['voided_by']}: its file must not go to the bank")
    if b["approved_by"] is None:
        raise Conflict("the batch is not released: another approver must release it before its file goes out")
    return found


@dataclass
class _OnReversals:
    """What the reversals of payouts with a disbursement do, by effect."""

    cancel: list[tuple[str, Reversal]] = field(default_factory=list)
    recall: list[tuple[str, Reversal, uuid.UUID]] = field(default_factory=list)  # with the released batch
    claw: list[tuple[str, Reversal]] = field(default_factory=list)

    def audit_rows(self) -> list[tuple[str, str, dict[str, Any]]]:
        return (
            [("payout.cancel", str(r.payout.payout_id), {"reason_code": r.reason_code}) for _, r in self.cancel]
            + [("payout.recall", str(r.payout.payout_id), {"reason_code": r.reason_code}) for _, r, _ in self.recall]
            + [("clawback.raise", str(r.payout.payout_id), _clawback_detail(r)) for _, r in self.claw]
        )


def _clawback_detail(r: Reversal) -> dict[str, Any]:
    return {
        "amount_cny": r.payout.amount_cny,
        "reason_code": r.reason_code,
        "clawback_id": reversal_clawback_id(r.payout.payout_id),
    }


def _sorted_by_effect(reversals: Sequence[tuple[str, Reversal]], states: dict[uuid.UUID, Any]) -> _OnReversals:
    effects = _OnReversals()
    for uscc, r in reversals:
        row = states.get(r.payout.payout_id)
        if row is None:
            continue
        effect = on_reversal(stage_of("reversed", row["state"]), released=row["released"])
        if effect is OnReversal.CANCEL:
            effects.cancel.append((uscc, r))
        elif effect is OnReversal.RECALL:
            effects.recall.append((uscc, r, row["batch_id"]))
        elif effect is OnReversal.CLAWBACK:
            effects.claw.append((uscc, r))
    return effects


async def after_reversals(conn: asyncpg.Connection, event: PayoutsReversed) -> list[OutgoingMessage]:
    """In the rules' transaction: a reversed payout whose file has not left is cancelled;
    one whose batch was released is recalled (only the bank's answer ends it); a paid one
    owes its amount back, once (a redelivered reversal finds the clawback raised)."""
    reversals = event.reversals
    if not reversals:
        return []
    states = await books.states_of(conn, [r.payout.payout_id for _, r in reversals])
    if not states:
        return []  # the usual case: only owed payouts were reversed
    now = datetime.now(UTC)
    today = business_date(now)
    effects = _sorted_by_effect(reversals, states)
    await books.mark_cancelled(conn, [(r.payout.payout_id, r.reason_code) for _, r in effects.cancel])
    await books.mark_recall_requested(conn, [(r.payout.payout_id, r.reason_code) for _, r, _ in effects.recall])
    raised = await books.raise_clawbacks(
        conn,
        [
            (
                reversal_clawback_id(r.payout.payout_id),
                r.payout.payout_id,
                r.payout.recipient_uscc,
                r.payout.amount_cny,
                r.reason_code,
                today,
            )
            for _, r in effects.claw
        ],
    )
    effects.claw = [(u, r) for u, r in effects.claw if reversal_clawback_id(r.payout.payout_id) in raised]
    await audit_trail.append(conn, RULES_ACTOR, effects.audit_rows())
    return (
        [_cancelled(uscc, r, today, now) for uscc, r in effects.cancel]
        + [_recall(uscc, r, batch_id, today, now) for uscc, r, batch_id in effects.recall]
        + [_clawback(uscc, r, today, now) for uscc, r in effects.claw]
    )


async def recover_differences(conn: asyncpg.Connection, event: PaidAwardsLowered) -> list[OutgoingMessage]:
    """In the rules' transaction: a version that allows recovery lowered a paid award; the
    difference is owed back as a clawback whose cause names the version (a redelivered
    re-decision finds the payout's recovered amount already booked, and raises none)."""
    recoveries = event.recoveries
    if not recoveries:
        return []
    now = datetime.now(UTC)
    today = business_date(now)
    await ledger.mark_recovered(conn, [(r.payout.payout_id, r.amount_cny) for _, r in recoveries])
    raised = await books.raise_clawbacks(
        conn,
        [
            (r.clawback_id, r.payout.payout_id, r.payout.recipient_uscc, r.amount_cny, "AMENDED", today)
            for _, r in recoveries
        ],
    )
    done = [(u, r) for u, r in recoveries if r.clawback_id in raised]
    await audit_trail.append(
        conn,
        RULES_ACTOR,
        [
            (
                "clawback.raise",
                str(r.payout.payout_id),
                {"amount_cny": r.amount_cny, "reason_code": "AMENDED", "clawback_id": r.clawback_id,
                 "policy_version": r.policy_version},
            )
            for _, r in done
        ],
    )  # fmt: skip
    return [
        award_message(
            derived_id("clawback", r.clawback_id),
            "ClawbackRaised",
            ClawbackRaised(
                payout_id=r.payout.payout_id,
                rule=r.payout.rule,
                recipient_role=r.payout.recipient_role,
                recipient_uscc=r.payout.recipient_uscc,
                enterprise_uscc=uscc,
                amount_cny=r.amount_cny,
                reason_code="AMENDED",
                raised_on=today,
                clawback_id=r.clawback_id,
            ),
            uscc,
            now,
        )
        for uscc, r in done
    ]


def _reversed_fields(uscc: str, r: Reversal) -> dict[str, Any]:
    p = r.payout
    return {
        "payout_id": p.payout_id,
        "rule": p.rule,
        "recipient_role": p.recipient_role,
        "recipient_uscc": p.recipient_uscc,
        "enterprise_uscc": uscc,
        "amount_cny": p.amount_cny,
        "reason_code": r.reason_code,
    }


def _cancelled(uscc: str, r: Reversal, today: Any, now: datetime) -> OutgoingMessage:
    event = PayoutCancelled(**_reversed_fields(uscc, r), cancelled_on=today)
    return award_message(derived_id("cancelled", r.payout.payout_id), "PayoutCancelled", event, uscc, now)


def _recall(uscc: str, r: Reversal, batch_id: uuid.UUID, today: Any, now: datetime) -> OutgoingMessage:
    event = PayoutRecallRequested(**_reversed_fields(uscc, r), batch_id=batch_id, requested_on=today)
    return award_message(derived_id("recall", r.payout.payout_id), "PayoutRecallRequested", event, uscc, now)


def _clawback(uscc: str, r: Reversal, today: Any, now: datetime) -> OutgoingMessage:
    event = ClawbackRaised(
        **_reversed_fields(uscc, r), raised_on=today, clawback_id=reversal_clawback_id(r.payout.payout_id)
    )
    return award_message(derived_id("clawback", r.payout.payout_id), "ClawbackRaised", event, uscc, now)
