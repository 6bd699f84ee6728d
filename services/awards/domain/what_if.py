"""What-if budgets: the award rules under other parameters, tallied. Pure."""

import dataclasses
from collections.abc import Iterable
from datetime import date

from services.awards.domain.award_rules import Decision, OwedPayout
from services.awards.domain.policy import Policy
from shared.enums import Rule

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
