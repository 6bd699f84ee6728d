"""The environment cannot change the policy: awards refuses to start while an old policy
variable is set, naming the command that makes it the deployment's version 1."""

import pytest
from pydantic import ValidationError

from services.awards.office.service_layer.legacy_policy import LegacyPolicyError, version_from_env
from services.awards.policy.domain.policy import PLAN_2015
from services.awards.settings import AwardsSettings
from shared.contract.enums import RecipientRole, Rule


def test_a_policy_variable_set_at_start_is_refused_with_the_command_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWARD_HIGH_TECH_CNY", "150000")
    monkeypatch.setenv("LISTING_WINDOW_YEARS", "3")
    with pytest.raises(ValidationError) as refused:
        AwardsSettings()
    message = str(refused.value)
    assert "AWARD_HIGH_TECH_CNY, LISTING_WINDOW_YEARS no longer set the policy" in message
    assert "python -m services.awards policy-from-env" in message


def test_without_them_awards_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWARD_HIGH_TECH_CNY", "")  # set but empty counts as unset
    assert AwardsSettings().awards_port == 8002


def test_the_variables_become_version_1_and_unset_ones_keep_the_plan() -> None:
    v = version_from_env({"AWARD_HIGH_TECH_CNY": "150000", "HIGH_TECH_WINDOW_YEARS": "2"})
    assert v.version_id == 1 and v.effective_from == PLAN_2015.effective_from
    assert v.amount(Rule.HIGH_TECH_CERTIFICATION, RecipientRole.OPERATOR) == 150_000
    assert v.amount(Rule.EQUITY_LISTING, RecipientRole.ENTERPRISE) == 200_000
    assert v.window_years == {Rule.HIGH_TECH_CERTIFICATION: 2, Rule.EQUITY_LISTING: 2}


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"AWARD_LISTING_CNY": "lots"}, "AWARD_LISTING_CNY='lots' is not a whole number"),
        ({"LISTING_WINDOW_YEARS": "11"}, "LISTING_WINDOW_YEARS=11 is outside 0 to 10"),
        (
            {"POLICY_EFFECTIVE_FROM": "2015-01-01"},
            "POLICY_EFFECTIVE_FROM=2015-01-01 is before the plan's start 2015-04-16",
        ),
    ],
)
def test_bad_values_are_named(env: dict[str, str], why: str) -> None:
    with pytest.raises(LegacyPolicyError) as caught:
        version_from_env(env)
    assert str(caught.value) == why
