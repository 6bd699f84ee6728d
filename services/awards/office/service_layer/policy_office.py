"""Policy versions: one person drafts, another adopts what the preview showed, and the
enterprises the version can affect are re-decided afterwards, in batches that survive a
crash. Each step is one transaction with its audit rows and, for an adoption, its event."""

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.awards.audit.adapters import audit_trail
from services.awards.audit.domain.audit import Actor
from services.awards.ledger.adapters import ledger, redecisions
from services.awards.ledger.domain.award_rules import decide
from services.awards.ledger.domain.consequences import FollowUp
from services.awards.ledger.domain.reconcile import reconcile
from services.awards.ledger.service_layer.messages import policy_message
from services.awards.ledger.service_layer.rules import decide_and_reconcile
from services.awards.office.domain.policy_drafts import (
    Affected,
    PreviewSummary,
    affected_by,
    check_draft,
    refusal,
    summarize,
)
from services.awards.policy.adapters import policy_versions
from services.awards.policy.adapters.policy_versions import AdoptedCache, version_document, version_of
from services.awards.policy.domain.policy import PolicyVersion, Versions
from shared.contract.errors import Conflict, Invalid, NotAllowed, NotFound
from shared.contract.events import PolicyVersionAdopted, derived_id
from shared.messaging import outbox
from shared.process import locks
from shared.process.clock import business_date
from shared.process.db import snapshot, unit_of_work
from shared.process.failpoints import crash_point

# XJ_CRASH_FILE's failpoint after a batch of re-decisions commits.
CRASH_POINT = "awards-redecision"
# Enterprises read per round of a preview.
PREVIEW_BATCH = 2000


async def draft(pool: asyncpg.Pool, actor: Actor, v: PolicyVersion) -> dict[str, Any]:
    async with unit_of_work(pool) as conn:
        errors = check_draft(v, await policy_versions.adopted(conn))
        if errors:
            raise Invalid("the draft cannot be a policy version as it stands", errors)
        row = await policy_versions.insert_draft(conn, v, actor.subject)
        doc = version_document(row)
        await audit_trail.append(
            conn, actor, [("policy.draft", f"policy-version:{row['version_id']}", _audit_detail(doc))]
        )
    return doc


def _audit_detail(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in ("jurisdiction", "effective_from", "amounts_cny", "window_years", "document")}


async def versions(pool: asyncpg.Pool) -> dict[str, Any]:
    async with pool.acquire() as conn:
        rows = await policy_versions.all_rows(conn)
        pending = await redecisions.pending_redecisions(conn)
    return {"versions": [version_document(r) for r in rows], "pending_redecisions": pending}


async def draft_of(conn: asyncpg.Connection, version_id: int, *, lock: bool = False) -> asyncpg.Record:
    row = await policy_versions.version_row(conn, version_id, lock=lock)
    if row is None:
        raise NotFound(f"no policy version {version_id}")
    return row


async def preview_in(
    conn: asyncpg.Connection, draft_version: PolicyVersion, adopted: Versions
) -> tuple[PreviewSummary, list[Affected]]:
    """What adopting `draft_version` would write, in the caller's transaction: every award
    whose amount it moves, with its stage, and the awards it adds."""
    proposed = adopted.with_version(draft_version)
    affected: list[Affected] = []
    new: list[int] = []
    async for usccs in redecisions.candidates(conn, draft_version, batch=PREVIEW_BATCH):
        facts = await ledger.load_facts(conn, usccs)
        books_ = await ledger.load_ledger(conn, usccs)
        declined = await ledger.load_declines(conn, usccs)
        stages = await ledger.stages_of(conn, usccs)
        left = ledger.left_of(stages)
        for uscc in usccs:
            changes = reconcile(
                enterprise_uscc=uscc,
                decision=decide(facts[uscc], proposed),
                ledger=books_[uscc],
                declined=declined[uscc],
                money_left=left,
            )
            moved, added = affected_by(uscc, books_[uscc], changes, stages)
            affected += moved
            new += added
    return summarize(affected, new), sorted(affected, key=lambda a: (a.enterprise_uscc, a.payout_id.hex))


def preview_document(summary: PreviewSummary, affected: list[Affected], *, limit: int = 1000) -> dict[str, Any]:
    return {
        "summary": asdict(summary),
        "refusal": refusal(summary),
        "affected": [
            {**asdict(a), "payout_id": str(a.payout_id), "basis_date": a.basis_date.isoformat()}
            for a in affected[:limit]
        ],
        "affected_listed": min(len(affected), limit),
    }


async def preview(pool: asyncpg.Pool, version_id: int) -> dict[str, Any]:
    async with snapshot(pool) as conn:
        row = await draft_of(conn, version_id)
        if row["adopted_at"] is not None:
            raise Conflict(f"policy version {version_id} is adopted: there is nothing left to preview")
        summary, affected = await preview_in(conn, version_of(row), await policy_versions.adopted(conn))
    return {"version": version_document(row), **preview_document(summary, affected)}


async def adopt(pool: asyncpg.Pool, actor: Actor, version_id: int, seen_digest: str) -> dict[str, Any]:
    """Adopt the draft if it is still what the adopter previewed (its digest), and queue
    the re-decisions. Decisions wait for this transaction and start again under the new
    set of versions."""
    async with unit_of_work(pool) as conn:
        await locks.hold(conn, locks.AWARDS_POLICY)
        row = await draft_of(conn, version_id, lock=True)
        if row["adopted_at"] is not None:
            raise Conflict(f"policy version {version_id} was adopted by {row['adopted_by']}; nothing changed")
        if row["drafted_by"] == actor.subject:
            raise NotAllowed(f"four eyes: {actor.subject} drafted policy version {version_id} and cannot also adopt it")
        v, adopted = version_of(row), await policy_versions.adopted(conn)
        errors = check_draft(v, adopted)
        if errors:
            raise Invalid(f"policy version {version_id} no longer fits the adopted versions", errors)
        summary, _ = await preview_in(conn, v, adopted)
        if summary.digest != seen_digest:
            raise Conflict(
                f"what adopting version {version_id} would change is no longer what was previewed "
                f"(now {summary.affected} award(s) changed, {summary.new_awards} added): preview it again"
            )
        if (why := refusal(summary)) is not None:
            raise Conflict(why)
        adopted_row = await policy_versions.mark_adopted(conn, version_id, actor.subject)
        queued = await redecisions.queue_redecisions(conn, v)
        doc = version_document(adopted_row)
        await audit_trail.append(
            conn,
            actor,
            [
                (
                    "policy.adopt",
                    f"policy-version:{version_id}",
                    {**_audit_detail(doc), "drafted_by": doc["drafted_by"], "preview": asdict(summary)},
                )
            ],
        )
        await outbox.enqueue(conn, [_adopted_message(doc)])
    return {"version": doc, "summary": asdict(summary), "queued_redecisions": queued}


def _adopted_message(doc: dict[str, Any]) -> Any:
    now = datetime.now(UTC)
    event = PolicyVersionAdopted(
        version_id=doc["version_id"],
        jurisdiction=doc["jurisdiction"],
        effective_from=doc["effective_from"],
        amounts_cny=doc["amounts_cny"],
        window_years=doc["window_years"],
        allows_recovery=doc["allows_recovery"],
        document=doc["document"],
        drafted_by=doc["drafted_by"],
        adopted_by=doc["adopted_by"],
        adopted_on=business_date(now),
    )
    return policy_message(derived_id("policy-adopted", doc["version_id"]), event, doc["jurisdiction"], now)


async def redecide_pending(pool: asyncpg.Pool, cache: AdoptedCache, limit: int, follow_up: FollowUp) -> int:
    """One batch of the re-decisions adoptions queued; how many were re-decided. Taking
    the batch and deciding it commit together, so a crash leaves them queued."""
    async with unit_of_work(pool) as conn:
        usccs = await redecisions.take_redecisions(conn, limit)
        if usccs:
            await decide_and_reconcile(conn, usccs, cache, follow_up)
    if usccs:
        crash_point(CRASH_POINT)  # tests: killed between two batches of re-decisions
    return len(usccs)
