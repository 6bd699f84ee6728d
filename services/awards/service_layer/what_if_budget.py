"""What-if budget (issue 10): the pure award rules over every stored fact under other
policy numbers, next to the ledger's totals today. Reads one snapshot; writes nothing,
emits nothing."""

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg

from services.awards.adapters import ledger
from services.awards.domain.award_rules import decide
from services.awards.domain.policy import Policy
from services.awards.domain.what_if import Tally, count_in, describe, side_by_side, sum_of
from shared import gc_pauses


async def what_if(
    pool: asyncpg.Pool,
    policy: Policy,
    *,
    current: Policy,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Totals by rule x recipient role x basis year under `policy`, beside the ledger's."""
    tally: Tally = {}
    enterprises = 0
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # The count is one more scan: only for a progress bar.
        total = await ledger.payable_enterprise_count(conn) if progress else 0
        with gc_pauses.paused():
            async for batch in ledger.payable_facts(conn, batch=250):
                for facts in batch:
                    count_in(tally, decide(facts, policy).payouts)
                enterprises += len(batch)
                if progress:
                    progress(len(batch), total)
                await asyncio.sleep(0)  # ~15 ms of rules per batch, then the consumer gets a turn
        books = await ledger.ledger_tally(conn)
    return {
        "policy": describe(policy),
        "current_policy": describe(current),
        "enterprises": enterprises,
        "rows": side_by_side(tally, books),
        "totals": {"what_if": sum_of(tally), "ledger": sum_of(books)},
    }
