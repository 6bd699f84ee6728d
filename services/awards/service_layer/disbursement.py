"""Disbursement use cases: each is one transaction that changes the books, enqueues its
events (outbox) and appends its audit rows together, so an approval, a payment or a
clawback exists exactly when its event will be published, once."""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from services.awards.adapters import disbursement_books as books
from services.awards.adapters import payment_files
from services.awards.domain.audit import RULES_ACTOR, Actor
from services.awards.domain.disbursement import (
    HEADER_WANTED,
    ApprovalOutcome,
    BadLine,
    ConfirmationLine,
    LineOutcome,
    OnReversal,
    approve,
    four_eyes,
    judge,
    on_reversal,
    parse_confirmation,
    stage_of,
)
from services.awards.domain.reconcile import Reversal
from services.awards.service_layer.messages import award_message
from shared import outbox
from shared.codec import OutgoingMessage
from shared.enums import RecipientRole, Rule
from shared.errors import Conflict, Invalid, NotAllowed, NotFound
from shared.events import ClawbackRaised, ClawbackSettled, PayoutApproved, PayoutPaid, derived_id
from shared.failpoints import crash_point

# XJ_CRASH_FILE's failpoint between a disbursement's commit and its events' relay.
CRASH_POINT = "awards-disbursement"


async def approve_payouts(pool: asyncpg.Pool, actor: Actor, payout_ids: Sequence[uuid.UUID]) -> list[dict[str, str]]:
    ids = list(dict.fromkeys(payout_ids))
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        rows = await books.lock_payouts(conn, ids)
        results: list[dict[str, str]] = []
        approved: list[asyncpg.Record] = []
        for pid in ids:
            r = rows.get(pid)
            outcome = approve(books.stage(r) if r else None)
            results.append({"payout_id": str(pid), "outcome": outcome.value, "message": _approval_message(outcome, r)})
            if outcome is ApprovalOutcome.APPROVED and r is not None:
                approved.append(r)
        await books.mark_approved(conn, approved, actor.subject)
        await outbox.enqueue(conn, [_approved(r, actor, now) for r in approved])
        await books.audit(
            conn, actor, [("payout.approve", str(r["payout_id"]), {"amount_cny": r["amount_cny"]}) for r in approved]
        )
    crash_point(CRASH_POINT)
    return results


def _approval_message(outcome: ApprovalOutcome, r: asyncpg.Record | None) -> str:
    if outcome is ApprovalOutcome.APPROVED:
        return f"approved {r['amount_cny']} CNY to {r['recipient_uscc']}" if r else ""
    if outcome is ApprovalOutcome.ALREADY_APPROVED:
        return "approved before; nothing changed"
    if outcome is ApprovalOutcome.NOT_OWED:
        return f"the payout is {books.stage(r) if r else '?'}, not owed; nothing changed"
    return "no such payout; nothing changed"


def _payout_fields(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "payout_id": r["payout_id"],
        "rule": Rule(r["rule"]),
        "recipient_role": RecipientRole(r["recipient_role"]),
        "recipient_uscc": r["recipient_uscc"],
        "enterprise_uscc": r["enterprise_uscc"],
    }


def _approved(r: asyncpg.Record, actor: Actor, now: datetime) -> OutgoingMessage:
    event = PayoutApproved(
        **_payout_fields(r),
        amount_cny=r["amount_cny"],
        approved_by=actor.subject,
        approved_on=now.date(),
    )
    return award_message(derived_id("approved", r["payout_id"]), "PayoutApproved", event, r["enterprise_uscc"], now)


async def prepare_batch(
    pool: asyncpg.Pool, actor: Actor, limit: int, only: Sequence[uuid.UUID] | None
) -> dict[str, Any]:
    batch_id = uuid.uuid4()
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        taken = await books.take_approved(conn, batch_id, limit, only)
        if not taken:
            raise Conflict("no approved payout waits for a payment batch")
        files = payment_files.render(batch_id, taken, now)
        stored = {kind: (content, payment_files.sha256(content)) for kind, content in files.items()}
        total = sum(p["amount_cny"] for p in taken)
        row = await books.store_batch(
            conn, batch_id=batch_id, prepared_by=actor.subject, payouts=len(taken), total_cny=total, files=stored
        )
        await books.audit(
            conn,
            actor,
            [
                (
                    "batch.prepare",
                    str(batch_id),
                    {"payouts": len(taken), "total_cny": total, **{f"{k}_sha256": v[1] for k, v in stored.items()}},
                )
            ],
        )
    return batch_document(row)


def batch_document(b: asyncpg.Record) -> dict[str, Any]:
    return {
        "batch_id": str(b["batch_id"]),
        "prepared_by": b["prepared_by"],
        "prepared_at": b["prepared_at"].isoformat(),
        "approved_by": b["approved_by"],
        "approved_at": b["approved_at"].isoformat() if b["approved_at"] else None,
        "released": b["approved_by"] is not None,
        "payouts": b["payouts"],
        "total_cny": b["total_cny"],
        "csv_sha256": b["csv_sha256"],
        "xlsx_sha256": b["xlsx_sha256"],
    }


async def release_batch(pool: asyncpg.Pool, actor: Actor, batch_id: uuid.UUID) -> dict[str, Any]:
    async with pool.acquire() as conn, conn.transaction():
        b = await books.batch(conn, batch_id, lock=True)
        if b is None:
            raise NotFound(f"no payment batch {batch_id}")
        if b["approved_by"] is None:
            why = four_eyes(b["prepared_by"], actor.subject)
            if why:
                raise NotAllowed(why)
            b = await books.mark_released(conn, batch_id, actor.subject)
            await books.audit(conn, actor, [("batch.approve", str(batch_id), {"total_cny": b["total_cny"]})])
    return batch_document(b)


async def import_confirmation(pool: asyncpg.Pool, actor: Actor, text: str) -> dict[str, Any]:
    parsed = parse_confirmation(text)
    if parsed[:1] == [BadLine(1, HEADER_WANTED)]:
        raise Invalid(f"not a confirmation file: {HEADER_WANTED}")
    file_sha256 = payment_files.sha256(text.encode())
    now = datetime.now(UTC)
    answers: list[dict[str, Any]] = []
    async with pool.acquire() as conn, conn.transaction():
        rows = await books.lock_payouts(conn, [p.payout_id for p in parsed if isinstance(p, ConfirmationLine)])
        seen: set[tuple[uuid.UUID, str]] = set()
        paid: list[tuple[ConfirmationLine, asyncpg.Record]] = []
        settled: list[tuple[ConfirmationLine, asyncpg.Record]] = []
        for p in parsed:
            if isinstance(p, BadLine):
                answers.append({"line": p.line, "outcome": LineOutcome.INVALID_LINE.value, "message": p.message})
                continue
            r = rows.get(p.payout_id)
            if (p.payout_id, p.direction) in seen:
                outcome, message = LineOutcome.REPEATED_IN_FILE, "this payout was named above; nothing changed"
            else:
                outcome, message = judge(p, books.standing(r) if r else None)
            seen.add((p.payout_id, p.direction))
            answers.append(
                {"line": p.line, "payout_id": str(p.payout_id), "outcome": outcome.value, "message": message}
            )
            if outcome is LineOutcome.PAID:
                paid.append((p, r))
            elif outcome is LineOutcome.SETTLED:
                settled.append((p, r))
        await books.mark_paid(conn, [(p.payout_id, p.value_date, p.reference) for p, _ in paid])
        await books.mark_settled(conn, [(p.payout_id, p.value_date, p.reference) for p, _ in settled])
        await outbox.enqueue(conn, [_paid(p, r, now) for p, r in paid] + [_settled(p, r, now) for p, r in settled])
        counts = {o.value: sum(1 for a in answers if a["outcome"] == o.value) for o in LineOutcome}
        await books.audit(
            conn,
            actor,
            [("payout.paid", str(p.payout_id), {"amount_cny": p.amount_cny, "reference": p.reference}) for p, _ in paid]
            + [
                ("clawback.settle", str(p.payout_id), {"amount_cny": p.amount_cny, "reference": p.reference})
                for p, _ in settled
            ]
            + [("confirmation.import", file_sha256, {k: v for k, v in counts.items() if v})],
        )
    crash_point(CRASH_POINT)
    return {"file_sha256": file_sha256, "changed": len(paid) + len(settled), "lines": answers}


def _paid(p: ConfirmationLine, r: asyncpg.Record, now: datetime) -> OutgoingMessage:
    event = PayoutPaid(
        **_payout_fields(r),
        amount_cny=p.amount_cny,
        batch_id=r["batch_id"],
        paid_on=p.value_date,
        reference=p.reference,
    )
    return award_message(derived_id("paid", p.payout_id), "PayoutPaid", event, r["enterprise_uscc"], now)


def _settled(p: ConfirmationLine, r: asyncpg.Record, now: datetime) -> OutgoingMessage:
    event = ClawbackSettled(
        payout_id=p.payout_id,
        recipient_uscc=r["recipient_uscc"],
        enterprise_uscc=r["enterprise_uscc"],
        amount_cny=p.amount_cny,
        settled_on=p.value_date,
        reference=p.reference,
    )
    uscc = r["enterprise_uscc"]
    return award_message(derived_id("clawback-settled", p.payout_id), "ClawbackSettled", event, uscc, now)


async def after_reversals(conn: asyncpg.Connection, reversals: Sequence[tuple[str, Reversal]]) -> list[OutgoingMessage]:
    """In the rules' transaction: a reversed payout that was approved is cancelled; one
    that was paid raises a clawback, once (a redelivered reversal finds it raised)."""
    if not reversals:
        return []
    states = await books.states_of(conn, [r.payout.payout_id for _, r in reversals])
    if not states:
        return []  # the usual case: only owed payouts were reversed
    today = date.today()
    cancel, claw = [], []
    for uscc, r in reversals:
        effect = on_reversal(stage_of("reversed", states.get(r.payout.payout_id)))
        if effect is OnReversal.CANCEL:
            cancel.append(r)
        elif effect is OnReversal.CLAWBACK:
            claw.append((uscc, r))
    await books.mark_cancelled(conn, [r.payout.payout_id for r in cancel])
    raised = await books.raise_clawbacks(
        conn,
        [(r.payout.payout_id, r.payout.recipient_uscc, r.payout.amount_cny, r.reason_code, today) for _, r in claw],
    )
    now = datetime.now(UTC)
    messages = [_clawback(uscc, r, today, now) for uscc, r in claw if r.payout.payout_id in raised]
    await books.audit(
        conn,
        RULES_ACTOR,
        [("payout.cancel", str(r.payout.payout_id), {"reason_code": r.reason_code}) for r in cancel]
        + [
            (
                "clawback.raise",
                str(r.payout.payout_id),
                {"amount_cny": r.payout.amount_cny, "reason_code": r.reason_code},
            )
            for _, r in claw
            if r.payout.payout_id in raised
        ],
    )
    return messages


def _clawback(uscc: str, r: Reversal, today: date, now: datetime) -> OutgoingMessage:
    p = r.payout
    event = ClawbackRaised(
        payout_id=p.payout_id,
        rule=p.rule,
        recipient_role=p.recipient_role,
        recipient_uscc=p.recipient_uscc,
        enterprise_uscc=uscc,
        amount_cny=p.amount_cny,
        reason_code=r.reason_code,
        raised_on=today,
    )
    return award_message(derived_id("clawback", p.payout_id), "ClawbackRaised", event, uscc, now)
