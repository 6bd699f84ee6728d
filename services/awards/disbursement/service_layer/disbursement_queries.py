"""The disbursement books as their readers see them: batches and their files, payouts by
stage, a recipient's position."""

import uuid
from typing import Any

import asyncpg

from services.awards.disbursement.adapters import disbursement_books as books
from services.awards.disbursement.adapters import disbursement_views as views
from services.awards.disbursement.domain.disbursement import Stage, net_position
from services.awards.disbursement.domain.owed_filter import OwedFilter
from services.awards.disbursement.service_layer.disbursement import batch_document
from shared.contract.errors import NotFound
from shared.process.db import snapshot


async def recent_batches(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        return [batch_document(r) for r in await views.recent_batches(conn)]


async def batch_with_lines(pool: asyncpg.Pool, batch_id: uuid.UUID) -> dict[str, Any]:
    async with snapshot(pool) as conn:
        row = await books.batch(conn, batch_id)
        if row is None:
            raise NotFound(f"no payment batch {batch_id}")
        lines = await views.batch_lines(conn, batch_id)
    return {
        **batch_document(row),
        "lines": [
            {
                "payout_id": str(p["payout_id"]),
                "state": p["state"],
                "amount_cny": p["amount_cny"],
                "paid_on": p["paid_on"].isoformat() if p["paid_on"] else None,
                "paid_reference": p["paid_reference"],
            }
            for p in lines
        ],
    }


def _payout(r: asyncpg.Record) -> dict[str, Any]:
    """A payout as every disbursement list shows it."""
    return {
        "payout_id": str(r["payout_id"]),
        "enterprise_uscc": r["enterprise_uscc"],
        "rule": r["rule"],
        "recipient_role": r["recipient_role"],
        "recipient_uscc": r["recipient_uscc"],
        "recipient_name": r["recipient_name"],
        "amount_cny": r["amount_cny"],
        "basis_date": r["basis_date"].isoformat(),
    }


async def owed(pool: asyncpg.Pool, f: OwedFilter, *, after: int, limit: int) -> dict[str, Any]:
    """The owed payouts matching `f`, a page at a time, with how many match in all and
    what they total: what an officer sees before approving all that match."""
    async with snapshot(pool) as conn:
        matching = await views.owed_summary(conn, f)
        rows = await views.owed_matching(conn, f, after=after, limit=limit + 1)
    page = rows[:limit]
    return {
        "count": matching.count,
        "total_cny": matching.total_cny,
        "payouts": [
            {
                **_payout(r),
                "enterprise_name": r["enterprise_name"],
                "funding": r["funding"],
                "policy_version": r["policy_version"],
                "top_up_of": str(r["top_up_of"]) if r["top_up_of"] else None,
            }
            for r in page
        ],
        "last_seq": page[-1]["seq"] if len(rows) > limit else None,
    }


async def payouts_at_stage(
    pool: asyncpg.Pool, stage: Stage, *, after: int, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """(up to `limit` payouts at `stage` after ledger position `after`, the position of the
    last of them when more follow)."""
    async with pool.acquire() as conn:
        rows = await views.payouts_at_stage(conn, stage, after=after, limit=limit + 1)
    page = rows[:limit]
    return (
        [
            {
                **_payout(r),
                "approved_by": r["approved_by"],
                "batch_id": str(r["batch_id"]) if r["batch_id"] else None,
                "paid_on": r["paid_on"].isoformat() if r["paid_on"] else None,
                # Netting is the office's decision, not automatic: the flag shows the debt.
                "recipient_owes_cny": r["recipient_owes_cny"],
            }
            for r in page
        ],
        page[-1]["seq"] if len(rows) > limit else None,
    )


async def position(pool: asyncpg.Pool, uscc: str) -> dict[str, Any]:
    """What a recipient was paid and paid back: net = paid - recovered. A repayment the bank
    reported but a second person has not confirmed is shown, not counted."""
    async with snapshot(pool) as conn:
        paid, clawed_back, recovered, held = await views.position(conn, uscc)
    return {
        "recipient_uscc": uscc,
        "paid_cny": paid,
        "clawed_back_cny": clawed_back,
        "recovered_cny": recovered,
        "outstanding_clawback_cny": clawed_back - recovered,
        "held_for_confirmation_cny": held,
        "net_cny": net_position(paid, recovered),
    }
