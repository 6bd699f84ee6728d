"""Which owed payouts an officer means, and whether they are still the ones she saw. Pure.

An approval of "all that match" carries the filter with the count and the total CNY the
officer saw; if the matching set has changed since (a payout reversed or approved in
between, a new one owed), the server refuses and approves nothing, so no one approves
what they did not see.
"""

from dataclasses import dataclass

from shared.contract.enums import RecipientRole, Rule


@dataclass(frozen=True, slots=True)
class OwedFilter:
    rule: Rule | None = None
    recipient_role: RecipientRole | None = None
    prefecture: str | None = None  # a prefecture-level division code: its counties roll up to it
    basis_month: str | None = None  # "YYYY-MM" of the basis date
    min_amount_cny: int | None = None
    max_amount_cny: int | None = None
    text: str | None = None  # part of the enterprise's or the recipient's name or code


@dataclass(frozen=True, slots=True)
class Matching:
    count: int
    total_cny: int


def changed_since_seen(seen: Matching, now: Matching) -> str | None:
    """Why an approval of all that match must be refused, or None when the set is the one seen."""
    if seen == now:
        return None
    return (
        f"the filter now matches {now.count} payouts totalling {now.total_cny:,} CNY, not the {seen.count} "
        f"totalling {seen.total_cny:,} CNY you saw; nothing was approved: look again and confirm"
    )
