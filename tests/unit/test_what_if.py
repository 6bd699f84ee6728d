"""What-if budgets: overrides, the pure tally, and what a wider window does."""

import json
import uuid
from datetime import date

import pytest
from hypothesis import given, settings
from pydantic import ValidationError

from services.awards.ledger.domain.award_rules import could_be_paid, decide
from services.awards.ledger.domain.facts import Admission, Certification, Graduation, Listing, Transfer
from services.awards.office.domain.what_if import PolicyOverrides, adjusted, side_by_side, sum_of, tally_of
from services.awards.policy.domain.policy import PLAN_2015, THE_2015_PLAN, each_role
from shared.contract.enums import Board, DeclineReason, Rule
from tests.unit.test_award_order_independence import as_facts, fact_sets

OP = "91650100MA7700010X"
POLICY = THE_2015_PLAN


def _id(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def test_certified_18_months_after_graduation_is_declined_at_one_year_and_paid_at_two() -> None:
    facts = as_facts(
        [
            Admission(_id(1), "INC-A", date(2015, 4, 20), OP, "运营方"),
            Graduation(_id(2), "INC-A", date(2015, 6, 30)),
            Certification(_id(3), date(2016, 12, 30)),
        ]
    )
    today = decide(facts, POLICY)
    assert today.payouts == ()
    assert [(d.rule, d.reason) for d in today.declines] == [
        (Rule.HIGH_TECH_CERTIFICATION, DeclineReason.OUTSIDE_WINDOW)
    ]

    wider = decide(facts, adjusted(POLICY, window_years={Rule.HIGH_TECH_CERTIFICATION: 2}))
    assert tally_of([wider]) == {
        ("650000", "HIGH_TECH_CERTIFICATION", "operator", 2016): [1, 100_000],
        ("650000", "HIGH_TECH_CERTIFICATION", "enterprise", 2016): [1, 100_000],
    }
    assert wider.declines == ()


def test_a_wider_listing_window_can_move_the_award_to_an_earlier_neeq_listing_and_lose_the_transfer() -> None:
    """The rules award the earliest qualifying listing; the transfer award needs that one to
    be the XJEE listing. So for this enterprise a wider window pays less (written down in
    the README's what-if notes): a NEEQ listing 30 months after graduation, then an XJEE
    listing and a transfer while incubated again."""
    facts = as_facts(
        [
            Admission(_id(1), "INC-A", date(2015, 5, 1), OP, "运营方"),
            Graduation(_id(2), "INC-A", date(2015, 6, 1)),
            Listing(_id(3), Board.NEEQ, date(2017, 12, 1)),
            Admission(_id(4), "INC-B", date(2018, 1, 1), OP, "运营方"),
            Listing(_id(5), Board.XJEE, date(2018, 2, 1)),
            Transfer(_id(6), date(2018, 6, 1)),
        ]
    )
    narrow = sum_of(tally_of([decide(facts, POLICY)]))
    wide = sum_of(tally_of([decide(facts, adjusted(POLICY, window_years={Rule.EQUITY_LISTING: 3}))]))
    assert narrow == {"payouts": 4, "amount_cny": 600_000}
    assert wide == {"payouts": 2, "amount_cny": 400_000}


@settings(max_examples=300, deadline=None)
@given(fact_sets())
def test_a_wider_window_never_pays_fewer_certification_or_listing_awards(items: list[object]) -> None:
    facts = as_facts(items)
    for rule in (Rule.HIGH_TECH_CERTIFICATION, Rule.EQUITY_LISTING):
        counts = []
        for years in (1, 2, 3, 5):
            d = decide(facts, adjusted(POLICY, window_years={rule: years}))
            counts.append(sum(1 for p in d.payouts if p.rule == rule))
        assert counts == sorted(counts), (rule, counts)


@settings(max_examples=300, deadline=None)
@given(fact_sets())
def test_an_enterprise_the_what_if_skips_is_paid_under_no_policy(items: list[object]) -> None:
    """The what-if reads only enterprises with a stint and a certification or listing."""
    facts = as_facts(items)
    if could_be_paid(facts):
        return
    for years in (1, 2, 10):
        for start in (date(2000, 1, 1), PLAN_2015.effective_from):
            policy = adjusted(POLICY, window_years={r: years for r in PLAN_2015.window_years}, effective_from=start)
            assert decide(facts, policy).payouts == ()


def test_could_be_paid_needs_a_stint_and_a_certification_or_listing() -> None:
    admission = Admission(_id(1), "INC-1", date(2016, 1, 1), "91650100MA00000009", "运营")
    cert = Certification(_id(2), date(2016, 6, 1))
    listing = Listing(_id(3), Board.NEEQ, date(2016, 6, 1))
    transfer = Transfer(_id(4), date(2016, 9, 1))
    assert [could_be_paid(as_facts(items)) for items in ([admission, cert], [admission, listing])] == [True, True]
    assert [could_be_paid(as_facts(items)) for items in ([admission, transfer], [cert, listing], [admission])] == [
        False,
        False,
        False,
    ]


@settings(max_examples=200, deadline=None)
@given(fact_sets())
def test_the_configured_policy_unchanged_gives_the_same_tally(items: list[object]) -> None:
    facts = as_facts(items)
    assert tally_of([decide(facts, PolicyOverrides().applied_to(POLICY))]) == tally_of([decide(facts, POLICY)])


def test_overrides_replace_only_what_is_given() -> None:
    [p] = PolicyOverrides(listing_window_years=3, transfer_cny=50_000).applied_to(POLICY).all()
    assert p.window_years == {Rule.HIGH_TECH_CERTIFICATION: 1, Rule.EQUITY_LISTING: 3}
    assert p.amounts == each_role(
        {Rule.HIGH_TECH_CERTIFICATION: 100_000, Rule.EQUITY_LISTING: 200_000, Rule.BOARD_TRANSFER: 50_000}
    )
    assert p.effective_from == date(2015, 4, 16)


def test_a_draft_and_numbers_are_not_previewed_together() -> None:
    with pytest.raises(ValidationError) as caught:
        PolicyOverrides.model_validate({"draft_version": 2, "high_tech_cny": 1})
    assert "preview a draft or give numbers, not both (high_tech_cny)" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"high_tech_cny": -1}, "high_tech_cny"),
        ({"listing_window_years": -1}, "listing_window_years"),
        ({"high_tech_window_years": 11}, "high_tech_window_years"),
        ({"effective_from": "2015-02-30"}, "effective_from"),
        ({"effective_from": 1430000000}, "effective_from"),
        ({"listing_windows": 3}, "listing_windows"),
    ],
)
def test_bad_overrides_name_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PolicyOverrides.model_validate_json(json.dumps(body))
    assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_side_by_side_rows_cover_both_sides_with_zeros() -> None:
    rows = side_by_side(
        {("650000", "EQUITY_LISTING", "operator", 2016): [2, 400_000]},
        {("650000", "EQUITY_LISTING", "operator", 2015): [1, 200_000]},
    )
    assert rows == [
        {
            "funding": "650000",
            "rule": "EQUITY_LISTING",
            "recipient_role": "operator",
            "basis_year": 2015,
            "what_if": {"payouts": 0, "amount_cny": 0},
            "ledger": {"payouts": 1, "amount_cny": 200_000},
        },
        {
            "funding": "650000",
            "rule": "EQUITY_LISTING",
            "recipient_role": "operator",
            "basis_year": 2016,
            "what_if": {"payouts": 2, "amount_cny": 400_000},
            "ledger": {"payouts": 0, "amount_cny": 0},
        },
    ]
