"""What-if budget (issue 10): the pure award rules over every stored fact under other
policy numbers, next to the ledger's totals today. Reads one snapshot; writes nothing,
emits nothing."""

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from services.awards.adapters.ledger import PAYABLE_ARGS, PAYABLE_ENTERPRISES, ledger_tally, payable_facts
from services.awards.domain.award_rules import decide
from services.awards.domain.policy import Policy
from services.awards.domain.what_if import Tally, adjusted, count_in, side_by_side, sum_of
from shared import gc_pauses
from shared.enums import Rule
from shared.events import IsoDate

Years = Field(default=None, ge=1, le=10, description="calendar years after graduation, 1 to 10")
Amount = Field(default=None, ge=0, le=100_000_000, description="CNY to each of operator and enterprise")


class PolicyOverrides(BaseModel):
    """Any of the policy's numbers; what is not given stays as the service is configured."""

    model_config = ConfigDict(extra="forbid")
    high_tech_cny: StrictInt | None = Amount
    listing_cny: StrictInt | None = Amount
    transfer_cny: StrictInt | None = Amount
    high_tech_window_years: StrictInt | None = Years
    listing_window_years: StrictInt | None = Years
    effective_from: IsoDate | None = Field(default=None, description="YYYY-MM-DD")

    def applied_to(self, policy: Policy) -> Policy:
        amounts = {
            rule: v
            for rule, v in (
                (Rule.HIGH_TECH_CERTIFICATION, self.high_tech_cny),
                (Rule.EQUITY_LISTING, self.listing_cny),
                (Rule.BOARD_TRANSFER, self.transfer_cny),
            )
            if v is not None
        }
        windows = {
            rule: v
            for rule, v in (
                (Rule.HIGH_TECH_CERTIFICATION, self.high_tech_window_years),
                (Rule.EQUITY_LISTING, self.listing_window_years),
            )
            if v is not None
        }
        return adjusted(policy, amounts=amounts, window_years=windows, effective_from=self.effective_from)


def describe(policy: Policy) -> dict[str, Any]:
    return {
        "effective_from": policy.effective_from.isoformat(),
        "amounts_cny": {str(r): v for r, v in policy.amounts.items()},
        "window_years": {str(r): v for r, v in policy.window_years.items()},
    }


async def what_if(
    conn: asyncpg.Connection,
    policy: Policy,
    *,
    current: Policy,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Totals by rule x recipient role x basis year under `policy`, beside the ledger's."""
    tally: Tally = {}
    enterprises = 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute("SET LOCAL work_mem = '64MB'")  # the sort by enterprise stays in memory
        # The count is one more scan: only for a progress bar.
        total = (
            await conn.fetchval(f"SELECT count(DISTINCT uscc) FROM ({PAYABLE_ENTERPRISES}) p", *PAYABLE_ARGS)
            if progress
            else 0
        )
        with gc_pauses.paused():
            async for batch in payable_facts(conn, batch=250):
                for facts in batch:
                    count_in(tally, decide(facts, policy).payouts)
                enterprises += len(batch)
                if progress:
                    progress(len(batch), total)
                await asyncio.sleep(0)  # ~15 ms of rules per batch, then the consumer gets a turn
        ledger = await ledger_tally(conn)
    return {
        "policy": describe(policy),
        "current_policy": describe(current),
        "enterprises": enterprises,
        "rows": side_by_side(tally, ledger),
        "totals": {"what_if": sum_of(tally), "ledger": sum_of(ledger)},
    }
