"""What-if budget: the pure award rules over every stored fact under other policy
numbers, or with a drafted version beside the adopted ones, next to the ledger's totals
today. Reads one snapshot; writes nothing, emits nothing."""

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg

from services.awards.ledger.adapters import ledger
from services.awards.ledger.domain.award_rules import decide
from services.awards.office.adapters import tallies
from services.awards.office.domain.what_if import PolicyOverrides, Tally, count_in, describe, side_by_side, sum_of
from services.awards.office.service_layer.policy_office import draft_of, preview_document, preview_in
from services.awards.policy.adapters import policy_versions
from services.awards.policy.adapters.policy_versions import version_document, version_of
from services.awards.policy.domain.policy import Versions
from shared.contract.errors import Conflict
from shared.process import gc_pauses
from shared.process.db import snapshot


async def what_if(
    pool: asyncpg.Pool, overrides: PolicyOverrides, *, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Totals by funding x rule x recipient role x basis year under the changed versions,
    beside the ledger's; for a draft, also every existing award it would change."""
    async with snapshot(pool) as conn:
        current = await policy_versions.adopted(conn)
        preview: dict[str, Any] = {}
        if overrides.draft_version is not None:
            row = await draft_of(conn, overrides.draft_version)
            if row["adopted_at"] is not None:
                raise Conflict(f"policy version {overrides.draft_version} is adopted already")
            proposed = current.with_version(version_of(row))
            summary, affected = await preview_in(conn, version_of(row), current)
            preview = {"draft": version_document(row), **preview_document(summary, affected)}
        else:
            proposed = overrides.applied_to(current)
        tally, enterprises = await tally_under(conn, proposed, progress)
        books = await tallies.ledger_tally(conn)
    return {
        "policy": describe(proposed),
        "current_policy": describe(current),
        "enterprises": enterprises,
        "rows": side_by_side(tally, books),
        "totals": {"what_if": sum_of(tally), "ledger": sum_of(books)},
        **preview,
    }


async def tally_under(
    conn: asyncpg.Connection, versions: Versions, progress: Callable[[int, int], None] | None = None
) -> tuple[Tally, int]:
    """(payouts by funding x rule x role x basis year under `versions`, enterprises read),
    in the caller's transaction."""
    tally: Tally = {}
    enterprises = 0
    # The count is one more scan: only for a progress bar.
    total = await ledger.payable_enterprise_count(conn) if progress else 0
    with gc_pauses.paused():
        async for batch in ledger.payable_facts(conn, batch=250):
            for facts in batch:
                count_in(tally, decide(facts, versions).payouts)
            enterprises += len(batch)
            if progress:
                progress(len(batch), total)
            await asyncio.sleep(0)  # ~15 ms of rules per batch, then the consumer gets a turn
    return tally, enterprises
