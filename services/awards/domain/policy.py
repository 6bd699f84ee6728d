"""The policy's numbers (SPEC §2.1), configurable, defaulting to the 2015 plan."""

from dataclasses import dataclass, field
from datetime import date

from shared.enums import Rule


@dataclass(frozen=True, slots=True)
class Policy:
    effective_from: date = date(2015, 4, 16)
    # CNY paid to each of the operator and the enterprise.
    amounts: dict[Rule, int] = field(
        default_factory=lambda: {
            Rule.HIGH_TECH_CERTIFICATION: 100_000,
            Rule.EQUITY_LISTING: 200_000,
            Rule.BOARD_TRANSFER: 100_000,
        }
    )
    # Calendar years after graduation during which a fact still qualifies.
    window_years: dict[Rule, int] = field(
        default_factory=lambda: {Rule.HIGH_TECH_CERTIFICATION: 1, Rule.EQUITY_LISTING: 2}
    )
