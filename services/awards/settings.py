"""Awards settings; the policy's numbers are configuration (SPEC §2.1)."""

from datetime import date
from pathlib import Path

from pydantic import Field

from services.awards.domain.policy import Policy
from shared.enums import Rule
from shared.settings import ServiceSettings


class AwardsSettings(ServiceSettings):
    awards_port: int = 8002
    policy_effective_from: date = date(2015, 4, 16)
    award_high_tech_cny: int = Field(default=100_000, ge=0)
    award_listing_cny: int = Field(default=200_000, ge=0)
    award_transfer_cny: int = Field(default=100_000, ge=0)
    high_tech_window_years: int = Field(default=1, ge=0, le=10)
    listing_window_years: int = Field(default=2, ge=0, le=10)
    # The local stack's development sign-in form (shared/dev_sign_in.py); unset in production.
    dev_sign_in_key_file: Path | None = None
    dev_sign_in_kid: str = "dev-1"

    def policy(self) -> Policy:
        return Policy(
            effective_from=self.policy_effective_from,
            amounts={
                Rule.HIGH_TECH_CERTIFICATION: self.award_high_tech_cny,
                Rule.EQUITY_LISTING: self.award_listing_cny,
                Rule.BOARD_TRANSFER: self.award_transfer_cny,
            },
            window_years={
                Rule.HIGH_TECH_CERTIFICATION: self.high_tech_window_years,
                Rule.EQUITY_LISTING: self.listing_window_years,
            },
        )
