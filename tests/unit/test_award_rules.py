"""The award rules at every boundary of docs/contract/policy.md#award-rules."""

import uuid
from datetime import date

from services.awards.ledger.domain.award_rules import Decision, decide
from services.awards.ledger.domain.facts import Admission, Certification, EnterpriseFacts, Graduation, Listing, Transfer
from services.awards.ledger.domain.stints import add_years
from services.awards.policy.domain.policy import REGION, THE_2015_PLAN, PolicyVersion, Versions, each_role
from shared.contract.enums import Board, DeclineReason, RecipientRole, Rule

ENT = "91650100MA77000029"
OP_A, OP_B = "91650100MA7700010X", "91650100MA77000118"
POLICY = THE_2015_PLAN


def _id(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def adm(n: int, on: date, incubator: str = "INC-A", operator: str = OP_A) -> Admission:
    return Admission(_id(n), incubator, on, operator, f"operator {operator}")


def grad(n: int, on: date, incubator: str = "INC-A") -> Graduation:
    return Graduation(_id(n), incubator, on)


def facts(*items: object) -> EnterpriseFacts:
    kinds: dict[type, set[object]] = {
        Admission: set(),
        Graduation: set(),
        Certification: set(),
        Listing: set(),
        Transfer: set(),
    }
    for item in items:
        kinds[type(item)].add(item)
    return EnterpriseFacts(
        uscc=ENT,
        name="测试企业",
        admissions=frozenset(kinds[Admission]),
        graduations=frozenset(kinds[Graduation]),  # type: ignore[arg-type]
        certifications=frozenset(kinds[Certification]),
        listings=frozenset(kinds[Listing]),  # type: ignore[arg-type]
        transfers=frozenset(kinds[Transfer]),  # type: ignore[arg-type]
    )


def paid(decision: Decision) -> set[tuple[Rule, RecipientRole, str, int, uuid.UUID]]:
    return {(p.rule, p.recipient_role, p.recipient_uscc, p.amount_cny, p.basis_event_id) for p in decision.payouts}


def reasons(decision: Decision) -> set[tuple[Rule, DeclineReason, uuid.UUID]]:
    return {(d.rule, d.reason, d.basis_event_id) for d in decision.declines}


def test_certification_while_incubated_pays_operator_and_enterprise() -> None:
    d = decide(facts(adm(1, date(2015, 5, 1)), Certification(_id(10), date(2015, 9, 1))), POLICY)
    assert paid(d) == {
        (Rule.HIGH_TECH_CERTIFICATION, RecipientRole.OPERATOR, OP_A, 100_000, _id(10)),
        (Rule.HIGH_TECH_CERTIFICATION, RecipientRole.ENTERPRISE, ENT, 100_000, _id(10)),
    }
    assert d.declines == ()


def test_certification_exactly_one_year_after_graduation_qualifies() -> None:
    d = decide(
        facts(adm(1, date(2015, 5, 1)), grad(2, date(2016, 1, 10)), Certification(_id(10), date(2017, 1, 10))), POLICY
    )
    assert len(d.payouts) == 2 and d.declines == ()


def test_certification_one_year_and_a_day_after_graduation_is_outside_window() -> None:
    d = decide(
        facts(adm(1, date(2015, 5, 1)), grad(2, date(2016, 1, 10)), Certification(_id(10), date(2017, 1, 11))), POLICY
    )
    assert d.payouts == ()
    assert reasons(d) == {(Rule.HIGH_TECH_CERTIFICATION, DeclineReason.OUTSIDE_WINDOW, _id(10))}
    (decline,) = d.declines
    assert (
        "2017-01-11" in decline.explanation
        and "2016-01-10" in decline.explanation
        and "2017-01-10" in decline.explanation
    )


def test_listing_exactly_two_years_after_graduation_qualifies_and_a_day_later_does_not() -> None:
    base = (adm(1, date(2015, 5, 1)), grad(2, date(2015, 6, 30)))
    ok = decide(facts(*base, Listing(_id(10), Board.NEEQ, date(2017, 6, 30))), POLICY)
    assert {(p.rule, p.amount_cny) for p in ok.payouts} == {(Rule.EQUITY_LISTING, 200_000)} and len(ok.payouts) == 2
    late = decide(facts(*base, Listing(_id(10), Board.NEEQ, date(2017, 7, 1))), POLICY)
    assert late.payouts == () and reasons(late) == {(Rule.EQUITY_LISTING, DeclineReason.OUTSIDE_WINDOW, _id(10))}


def test_graduation_on_29_february_window_ends_28_february() -> None:
    assert add_years(date(2016, 2, 29), 1) == date(2017, 2, 28)
    base = (adm(1, date(2015, 5, 1)), grad(2, date(2016, 2, 29)))
    assert len(decide(facts(*base, Certification(_id(10), date(2017, 2, 28))), POLICY).payouts) == 2
    late = decide(facts(*base, Certification(_id(10), date(2017, 3, 1))), POLICY)
    assert reasons(late) == {(Rule.HIGH_TECH_CERTIFICATION, DeclineReason.OUTSIDE_WINDOW, _id(10))}


def test_certification_before_admission_is_not_incubated() -> None:
    d = decide(facts(adm(1, date(2016, 1, 1)), Certification(_id(10), date(2015, 12, 31))), POLICY)
    assert d.payouts == () and reasons(d) == {(Rule.HIGH_TECH_CERTIFICATION, DeclineReason.NOT_INCUBATED, _id(10))}


def test_never_incubated() -> None:
    d = decide(facts(Certification(_id(10), date(2016, 1, 1))), POLICY)
    assert reasons(d) == {(Rule.HIGH_TECH_CERTIFICATION, DeclineReason.NOT_INCUBATED, _id(10))}
    assert "never admitted" in d.declines[0].explanation


def test_before_policy_effective_date() -> None:
    d = decide(facts(adm(1, date(2014, 1, 1)), Certification(_id(10), date(2015, 4, 15))), POLICY)
    assert d.payouts == () and reasons(d) == {(Rule.HIGH_TECH_CERTIFICATION, DeclineReason.BEFORE_POLICY, _id(10))}
    on_the_day = decide(facts(adm(1, date(2014, 1, 1)), Certification(_id(10), date(2015, 4, 16))), POLICY)
    assert len(on_the_day.payouts) == 2


def test_transfer_of_unrewarded_xjee_listing_is_declined() -> None:
    # XJEE listing before admission: not rewarded, so the transfer earns nothing either.
    d = decide(
        facts(
            adm(1, date(2016, 1, 1)),
            Listing(_id(10), Board.XJEE, date(2015, 6, 1)),
            Transfer(_id(20), date(2016, 6, 1)),
        ),
        POLICY,
    )
    assert d.payouts == ()
    assert reasons(d) == {
        (Rule.EQUITY_LISTING, DeclineReason.NOT_INCUBATED, _id(10)),
        (Rule.BOARD_TRANSFER, DeclineReason.XJEE_LISTING_NOT_AWARDED, _id(20)),
    }


def test_transfer_after_rewarded_xjee_listing_pays_the_same_operator() -> None:
    d = decide(
        facts(
            adm(1, date(2015, 5, 1)),
            grad(2, date(2015, 12, 1)),
            adm(3, date(2016, 1, 1), "INC-B", OP_B),
            Listing(_id(10), Board.XJEE, date(2015, 10, 1)),
            Transfer(_id(20), date(2016, 6, 1)),
        ),
        POLICY,
    )
    assert paid(d) == {
        (Rule.EQUITY_LISTING, RecipientRole.OPERATOR, OP_A, 200_000, _id(10)),
        (Rule.EQUITY_LISTING, RecipientRole.ENTERPRISE, ENT, 200_000, _id(10)),
        (Rule.BOARD_TRANSFER, RecipientRole.OPERATOR, OP_A, 100_000, _id(20)),
        (Rule.BOARD_TRANSFER, RecipientRole.ENTERPRISE, ENT, 100_000, _id(20)),
    }


def test_transfer_after_neeq_basis_listing_award_is_declined() -> None:
    d = decide(
        facts(
            adm(1, date(2015, 5, 1)),
            Listing(_id(10), Board.NEEQ, date(2015, 8, 1)),
            Listing(_id(11), Board.XJEE, date(2015, 9, 1)),
            Transfer(_id(20), date(2016, 1, 1)),
        ),
        POLICY,
    )
    assert paid(d) == {
        (Rule.EQUITY_LISTING, RecipientRole.OPERATOR, OP_A, 200_000, _id(10)),
        (Rule.EQUITY_LISTING, RecipientRole.ENTERPRISE, ENT, 200_000, _id(10)),
    }
    assert reasons(d) == {
        (Rule.EQUITY_LISTING, DeclineReason.ALREADY_AWARDED, _id(11)),
        (Rule.BOARD_TRANSFER, DeclineReason.XJEE_LISTING_NOT_AWARDED, _id(20)),
    }


def test_recertification_is_already_awarded_and_the_earliest_is_the_basis() -> None:
    d = decide(
        facts(
            adm(1, date(2015, 5, 1)), Certification(_id(11), date(2018, 1, 1)), Certification(_id(10), date(2015, 9, 1))
        ),
        POLICY,
    )
    assert {p.basis_event_id for p in d.payouts} == {_id(10)}
    assert reasons(d) == {(Rule.HIGH_TECH_CERTIFICATION, DeclineReason.ALREADY_AWARDED, _id(11))}


def test_two_qualifying_stints_pay_the_latest_admissions_operator() -> None:
    d = decide(
        facts(
            adm(1, date(2015, 5, 1), "INC-A", OP_A),
            grad(2, date(2015, 12, 31), "INC-A"),
            adm(3, date(2016, 3, 1), "INC-B", OP_B),
            Certification(_id(10), date(2016, 6, 1)),
        ),
        POLICY,
    )
    assert {(p.recipient_role, p.recipient_uscc, p.incubator_id) for p in d.payouts} == {
        (RecipientRole.OPERATOR, OP_B, "INC-B"),
        (RecipientRole.ENTERPRISE, ENT, "INC-B"),
    }


def test_a_late_graduation_makes_the_certification_ineligible() -> None:
    before = decide(facts(adm(1, date(2015, 5, 1)), Certification(_id(10), date(2017, 6, 1))), POLICY)
    assert len(before.payouts) == 2
    after = decide(
        facts(adm(1, date(2015, 5, 1)), grad(2, date(2016, 1, 10)), Certification(_id(10), date(2017, 6, 1))), POLICY
    )
    assert after.payouts == () and reasons(after) == {
        (Rule.HIGH_TECH_CERTIFICATION, DeclineReason.OUTSIDE_WINDOW, _id(10))
    }


def test_amounts_windows_and_effective_date_are_the_versions() -> None:
    policy = Versions.of(
        [
            PolicyVersion(
                1,
                REGION,
                date(2016, 1, 1),
                each_role({Rule.HIGH_TECH_CERTIFICATION: 5, Rule.EQUITY_LISTING: 7, Rule.BOARD_TRANSFER: 3}),
                {Rule.HIGH_TECH_CERTIFICATION: 3, Rule.EQUITY_LISTING: 2},
            )
        ]
    )
    d = decide(
        facts(adm(1, date(2015, 5, 1)), grad(2, date(2016, 1, 10)), Certification(_id(10), date(2018, 6, 1))), policy
    )
    assert {p.amount_cny for p in d.payouts} == {5} and len(d.payouts) == 2
