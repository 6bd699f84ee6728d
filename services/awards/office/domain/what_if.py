"""What-if budgets: the award rules under other versions of the policy, tallied. Pure."""

import dataclasses
from collections.abc import Iterable
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from services.awards.ledger.domain.award_rules import Decision, OwedPayout
from services.awards.policy.domain.policy import MAX_AMOUNT_CNY, REGION, WINDOW_YEARS, Versions, each_role
from shared.contract.enums import Rule
from shared.contract.events import IsoDate

# (funding, rule, recipient role, basis year) -> [awards, CNY]
Tally = dict[tuple[str, str, str, int], list[int]]


def adjusted(
    versions: Versions,
    *,
    amounts: dict[Rule, int] | None = None,
    window_years: dict[Rule, int] | None = None,
    effective_from: date | None = None,
) -> Versions:
    """`versions` with some of the region's numbers replaced in every region version (and
    its first version starting at `effective_from`); the rest stay as adopted."""
    region = list(versions.by_jurisdiction.get(REGION, ()))
    changed = [
        dataclasses.replace(
            v,
            amounts={**v.amounts, **each_role(amounts or {})},
            window_years={**v.window_years, **(window_years or {})},
            effective_from=effective_from if effective_from is not None and i == 0 else v.effective_from,
        )
        for i, v in enumerate(region)
    ]
    others = [v for v in versions.all() if v.jurisdiction != REGION]
    return Versions.of([*changed, *others])


def count_in(tally: Tally, payouts: Iterable[OwedPayout]) -> None:
    for p in payouts:
        slot = tally.setdefault((p.funding, p.rule, p.recipient_role, p.basis_date.year), [0, 0])
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
    """One row per funding x rule x role x basis year found on either side, zeros where absent."""
    rows: list[dict[str, object]] = []
    for funding, rule, role, year in sorted(what_if.keys() | ledger.keys()):
        w = what_if.get((funding, rule, role, year), [0, 0])
        led = ledger.get((funding, rule, role, year), [0, 0])
        rows.append(
            {
                "funding": funding,
                "rule": rule,
                "recipient_role": role,
                "basis_year": year,
                "what_if": {"payouts": w[0], "amount_cny": w[1]},
                "ledger": {"payouts": led[0], "amount_cny": led[1]},
            }
        )
    return rows


Years = Field(
    default=None,
    ge=WINDOW_YEARS.start,
    le=WINDOW_YEARS.stop - 1,
    description=f"calendar years after graduation, {WINDOW_YEARS.start} to {WINDOW_YEARS.stop - 1}",
)
Amount = Field(default=None, ge=0, le=MAX_AMOUNT_CNY, description="CNY to each of operator and enterprise")


class PolicyOverrides(BaseModel):
    """Either a draft version to preview beside the adopted ones, or any of the region's
    numbers as a counterfactual; what is not given stays as adopted."""

    model_config = ConfigDict(extra="forbid")
    draft_version: StrictInt | None = Field(default=None, ge=1, description="a drafted version to preview")
    high_tech_cny: StrictInt | None = Amount
    listing_cny: StrictInt | None = Amount
    transfer_cny: StrictInt | None = Amount
    high_tech_window_years: StrictInt | None = Years
    listing_window_years: StrictInt | None = Years
    effective_from: IsoDate | None = Field(default=None, description="YYYY-MM-DD")

    @model_validator(mode="after")
    def _one_kind(self) -> "PolicyOverrides":
        numbers = [k for k, v in self.model_dump(exclude={"draft_version"}).items() if v is not None]
        if self.draft_version is not None and numbers:
            raise ValueError(f"preview a draft or give numbers, not both ({', '.join(numbers)})")
        return self

    def applied_to(self, versions: Versions) -> Versions:
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
        return adjusted(versions, amounts=amounts, window_years=windows, effective_from=self.effective_from)


def describe(versions: Versions) -> list[dict[str, Any]]:
    return [
        {
            "version_id": v.version_id,
            "jurisdiction": v.jurisdiction,
            "effective_from": v.effective_from.isoformat(),
            "amounts_cny": {f"{r}.{role}": cny for (r, role), cny in sorted(v.amounts.items())},
            "window_years": {str(r): y for r, y in sorted(v.window_years.items())},
        }
        for v in versions.all()
    ]
