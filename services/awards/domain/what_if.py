"""What-if budgets: the award rules under other policy numbers, tallied. Pure."""

import dataclasses
from collections.abc import Iterable
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from services.awards.domain.award_rules import Decision, OwedPayout
from services.awards.domain.policy import Policy
from shared.enums import Rule
from shared.events import IsoDate

# (rule, recipient role, basis year) -> [payouts, CNY]
Tally = dict[tuple[str, str, int], list[int]]


def adjusted(
    policy: Policy,
    *,
    amounts: dict[Rule, int] | None = None,
    window_years: dict[Rule, int] | None = None,
    effective_from: date | None = None,
) -> Policy:
    """`policy` with some of its numbers replaced; the rest stay as configured."""
    return dataclasses.replace(
        policy,
        amounts={**policy.amounts, **(amounts or {})},
        window_years={**policy.window_years, **(window_years or {})},
        effective_from=effective_from or policy.effective_from,
    )


def count_in(tally: Tally, payouts: Iterable[OwedPayout]) -> None:
    for p in payouts:
        slot = tally.setdefault((p.rule, p.recipient_role, p.basis_date.year), [0, 0])
        slot[0] += 1
        slot[1] += p.amount_cny


def tally_of(decisions: Iterable[Decision]) -> Tally:
    tally: Tally = {}
    for d in decisions:
        count_in(tally, d.payouts)
    return tally


def sum_of(tally: Tally) -> dict[str, int]:
    return {"payouts": sum(v[0] for v in tally.values()), "amount_cny": sum(v[1] for v in tally.values())}


def side_by_side(what_if: Tally, ledger: Tally) -> list[dict[str, object]]:
    """One row per rule x role x basis year found on either side, zeros where absent."""
    rows: list[dict[str, object]] = []
    for rule, role, year in sorted(what_if.keys() | ledger.keys()):
        w = what_if.get((rule, role, year), [0, 0])
        led = ledger.get((rule, role, year), [0, 0])
        rows.append(
            {
                "rule": rule,
                "recipient_role": role,
                "basis_year": year,
                "what_if": {"payouts": w[0], "amount_cny": w[1]},
                "ledger": {"payouts": led[0], "amount_cny": led[1]},
            }
        )
    return rows


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
