"""Awards settings. The policy is not among them: its numbers are adopted versions in
awards' database (docs/contract/policy.md), and awards refuses to start while a policy
variable of an earlier release is still set."""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from pydantic import model_validator

from shared.process.settings import ServiceSettings

# The variables that once set the policy's numbers; `python -m services.awards
# policy-from-env` turns them into the deployment's version 1, once, before the upgrade.
LEGACY_POLICY_VARIABLES: Final = (
    "POLICY_EFFECTIVE_FROM",
    "AWARD_HIGH_TECH_CNY",
    "AWARD_LISTING_CNY",
    "AWARD_TRANSFER_CNY",
    "HIGH_TECH_WINDOW_YEARS",
    "LISTING_WINDOW_YEARS",
)


def legacy_policy_set(environ: Mapping[str, str]) -> list[str]:
    return [name for name in LEGACY_POLICY_VARIABLES if environ.get(name, "") != ""]


def legacy_refusal(names: list[str]) -> str:
    return (
        f"{', '.join(names)} no longer set the policy: its numbers are adopted versions in awards' database. "
        "Before this release's first start run `python -m services.awards policy-from-env` once with them set "
        "(it makes them the deployment's version 1, so nothing is re-rated), then unset them. A later change is "
        "drafted and adopted as a new version (docs/policy-office.md)."
    )


class AwardsSettings(ServiceSettings):
    awards_port: int = 8002
    # The local stack's development sign-in form (shared/web/dev_sign_in.py); unset in production.
    dev_sign_in_key_file: Path | None = None
    dev_sign_in_kid: str = "dev-1"
    # The explicit switch the local stack sets: a key file alone never opens the form.
    dev_sign_in_local_stack: bool = False
    # Enterprises an adoption re-decides per transaction.
    policy_redecision_batch: int = 500

    @model_validator(mode="after")
    def _no_policy_in_the_environment(self) -> "AwardsSettings":
        names = legacy_policy_set(os.environ)
        if names:
            raise ValueError(legacy_refusal(names))
        return self
