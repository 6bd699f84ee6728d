"""Policy versions (docs/contract/policy.md): each fact judged by the versions in force on
its own date, a prefecture's plan adding its own payouts, drafts checked field by field,
and a version reaching back moving only the difference."""

import uuid
from dataclasses import replace
from datetime import date

import pytest

from services.awards.ledger.domain.award_rules import decide
from services.awards.ledger.domain.facts import Admission, Certification, EnterpriseFacts, Graduation, Listing, Transfer
from services.awards.ledger.domain.reconcile import Changes, LedgerPayout, reconcile
from services.awards.office.domain.policy_drafts import affected_by, check_draft, summarize
from services.awards.policy.domain.policy import (
    PLAN_2015,
    REGION,
    THE_2015_PLAN,
    PolicyDocument,
    PolicyVersion,
    Versions,
    can_have_plan,
)
from shared.contract.enums import Board, DeclineReason, RecipientRole, Rule
from tests.support.ledger_model import applied

ENT = "91650100MA77000029"
OP = "91650100MA7700010X"
NOTICE = PolicyDocument("新疆维吾尔自治区人民政府办公厅", "关于调整高新技术企业认定奖励的通知", date(2015, 12, 1))
URUMQI_PLAN = PolicyDocument("乌鲁木齐市人民政府", "乌鲁木齐市大众创业万众就业实施方案", date(2015, 9, 1))


def _id(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def amendment_2016(version_id: int = 2, high_tech: int = 150_000, **changes: object) -> PolicyVersion:
    amounts = {**PLAN_2015.amounts, **{(Rule.HIGH_TECH_CERTIFICATION, r): high_tech for r in RecipientRole}}
    v = PolicyVersion(version_id, REGION, date(2016, 1, 1), amounts, dict(PLAN_2015.window_years), NOTICE)
    return replace(v, **changes)  # type: ignore[arg-type]


def urumqi_plan(version_id: int = 3) -> PolicyVersion:
    listing = {(Rule.EQUITY_LISTING, r): 50_000 for r in RecipientRole}
    return PolicyVersion(version_id, "650100", date(2015, 10, 1), listing, {}, URUMQI_PLAN)


def enterprise(*items: object, prefecture: str | None = "650100") -> EnterpriseFacts:
    def of(kind: type) -> frozenset:  # type: ignore[type-arg]
        return frozenset(i for i in items if isinstance(i, kind))

    return EnterpriseFacts(
        ENT, "企业", of(Admission), of(Graduation), of(Certification), of(Listing), of(Transfer), prefecture
    )


ADMITTED = Admission(_id(1), "INC-A", date(2015, 5, 1), OP, "运营方")


def amounts(versions: Versions, *items: object, prefecture: str | None = "650100") -> list[tuple[str, str, str, int]]:
    return sorted(
        (p.funding, p.rule.value, p.recipient_role.value, p.amount_cny)
        for p in decide(enterprise(*items, prefecture=prefecture), versions).payouts
    )


def test_a_version_is_in_force_from_its_start_until_the_next_one_of_its_jurisdiction() -> None:
    versions = Versions.of([PLAN_2015, amendment_2016(), urumqi_plan()])
    assert versions.in_force(REGION, date(2015, 4, 15)) is None
    assert [versions.in_force(REGION, d).version_id for d in (date(2015, 4, 16), date(2015, 12, 31))] == [1, 1]  # type: ignore[union-attr]
    assert versions.in_force(REGION, date(2016, 1, 1)).version_id == 2  # type: ignore[union-attr]
    assert versions.in_force("650100", date(2015, 9, 30)) is None
    assert versions.in_force("650100", date(2030, 1, 1)).version_id == 3  # type: ignore[union-attr]
    assert versions.in_force("654000", date(2016, 1, 1)) is None


def test_an_amendment_rates_facts_from_its_start_and_leaves_earlier_ones_as_they_were() -> None:
    versions = Versions.of([PLAN_2015, amendment_2016()])
    late_2015 = Certification(_id(2), date(2015, 12, 31))
    early_2016 = Certification(_id(2), date(2016, 1, 1))
    assert amounts(versions, ADMITTED, late_2015) == [
        ("650000", "HIGH_TECH_CERTIFICATION", "enterprise", 100_000),
        ("650000", "HIGH_TECH_CERTIFICATION", "operator", 100_000),
    ]
    assert amounts(versions, ADMITTED, early_2016) == [
        ("650000", "HIGH_TECH_CERTIFICATION", "enterprise", 150_000),
        ("650000", "HIGH_TECH_CERTIFICATION", "operator", 150_000),
    ]
    [paid] = [p for p in decide(enterprise(ADMITTED, early_2016), versions).payouts if p.recipient_role == "operator"]
    assert paid.policy_version == 2
    assert "政策版本 2" in paid.explanation and "关于调整高新技术企业认定奖励的通知" in paid.explanation
    assert "Under policy version 2 (the region, from 2016-01-01)." in paid.explanation


def test_the_window_is_the_one_in_force_on_the_facts_date() -> None:
    wider = amendment_2016(high_tech=100_000, window_years={Rule.HIGH_TECH_CERTIFICATION: 3, Rule.EQUITY_LISTING: 2})
    versions = Versions.of([PLAN_2015, wider])
    graduated = Graduation(_id(3), "INC-A", date(2015, 6, 1))
    # 18 months after graduation: outside v1's one year, inside v2's three, judged on its date.
    in_2016 = Certification(_id(4), date(2016, 12, 1))
    assert len(decide(enterprise(ADMITTED, graduated, in_2016), THE_2015_PLAN).payouts) == 0
    assert len(decide(enterprise(ADMITTED, graduated, in_2016), versions).payouts) == 2


def test_a_prefectures_plan_adds_its_own_payouts_funded_by_it_and_only_for_its_enterprises() -> None:
    versions = Versions.of([PLAN_2015, urumqi_plan()])
    listed = Listing(_id(5), Board.XJEE, date(2015, 11, 2))
    assert amounts(versions, ADMITTED, listed) == [
        ("650000", "EQUITY_LISTING", "enterprise", 200_000),
        ("650000", "EQUITY_LISTING", "operator", 200_000),
        ("650100", "EQUITY_LISTING", "enterprise", 50_000),
        ("650100", "EQUITY_LISTING", "operator", 50_000),
    ]
    assert amounts(versions, ADMITTED, listed, prefecture="654000") == [
        ("650000", "EQUITY_LISTING", "enterprise", 200_000),
        ("650000", "EQUITY_LISTING", "operator", 200_000),
    ]
    before_its_start = Listing(_id(5), Board.XJEE, date(2015, 9, 30))
    assert [a[0] for a in amounts(versions, ADMITTED, before_its_start)] == ["650000", "650000"]
    # A High-Tech certification: the plan adds nothing to it (0 there).
    certified = Certification(_id(6), date(2015, 11, 2))
    assert {a[0] for a in amounts(versions, ADMITTED, certified)} == {"650000"}
    local = [p for p in decide(enterprise(ADMITTED, listed), versions).payouts if p.funding == "650100"]
    assert {p.policy_version for p in local} == {3}
    assert all(
        "乌鲁木齐市大众创业万众就业实施方案" in p.explanation and "funded by that prefecture" in p.explanation
        for p in local
    )


def test_before_the_first_version_the_decline_names_it_and_its_document() -> None:
    d = decide(enterprise(ADMITTED, Certification(_id(2), date(2015, 4, 15))), THE_2015_PLAN)
    [decline] = d.declines
    assert decline.reason == DeclineReason.BEFORE_POLICY
    assert decline.explanation == (
        "高新技术企业认定日期 2015-04-15 早于政策版本 1（自治区，新疆维吾尔自治区人民政府办公厅"
        "《新疆维吾尔自治区“大众创业、万众就业”行动方案》2015-04-16）的生效日 2015-04-16，不予奖励。"
        " The enterprise was certified on 2015-04-15, before policy version 1 (the region, from 2015-04-16)"
        " took effect on 2015-04-16; no award."
    )


def test_the_cities_the_region_administers_are_not_prefectures_and_have_no_plans() -> None:
    assert [can_have_plan(c) for c in ("650000", "650100", "654000", "659001", "650102", "660000")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("version", "errors"),
    [
        (
            replace(urumqi_plan(), jurisdiction="659001"),
            [("jurisdiction", "659001 is neither the region (650000) nor one of its 14 prefectures")],
        ),
        (
            replace(amendment_2016(), effective_from=date(2015, 4, 15)),
            [("effective_from", "2015-04-15 is before the plan's start on 2015-04-16")],
        ),
        (
            replace(amendment_2016(), effective_from=date(2015, 4, 16)),
            [("effective_from", "version 1 of 650000 already starts on 2015-04-16")],
        ),
        (
            amendment_2016(high_tech=100_000_001),
            [
                ("amounts_cny.HIGH_TECH_CERTIFICATION.enterprise", "100000001 is outside 0 to 100,000,000"),
                ("amounts_cny.HIGH_TECH_CERTIFICATION.operator", "100000001 is outside 0 to 100,000,000"),
            ],
        ),
        (
            amendment_2016(window_years={Rule.HIGH_TECH_CERTIFICATION: 11, Rule.EQUITY_LISTING: 2}),
            [("window_years.HIGH_TECH_CERTIFICATION", "11 is outside 0 to 10")],
        ),
        (
            replace(urumqi_plan(), window_years={Rule.EQUITY_LISTING: 3}),
            [("window_years", "a prefecture's awards follow the region's decision: it sets no window")],
        ),
        (
            amendment_2016(window_years={Rule.HIGH_TECH_CERTIFICATION: 1}),
            [("window_years.EQUITY_LISTING", "the region's version must give it")],
        ),
    ],
)
def test_a_draft_is_refused_naming_the_field_and_why(version: PolicyVersion, errors: list[tuple[str, str]]) -> None:
    assert check_draft(version, THE_2015_PLAN) == errors


def test_good_drafts_pass() -> None:
    assert check_draft(amendment_2016(), THE_2015_PLAN) == []
    assert check_draft(urumqi_plan(), THE_2015_PLAN) == []


def ledger_of(changes: Changes, before: list[LedgerPayout] | None = None) -> list[LedgerPayout]:
    return applied(changes, before or [])


CERTIFIED_2016 = Certification(_id(2), date(2016, 3, 1))


def decided_under(
    versions: Versions,
    ledger: list[LedgerPayout],
    money_left: dict[uuid.UUID, str] | None = {},  # noqa: B006 - never mutated
) -> Changes:
    return reconcile(
        enterprise_uscc=ENT,
        decision=decide(enterprise(ADMITTED, CERTIFIED_2016), versions),
        ledger=ledger,
        declined={},
        money_left=money_left,
    )


def test_a_raise_reaching_back_tops_up_the_difference_and_leaves_the_award_standing() -> None:
    ledger = ledger_of(decided_under(THE_2015_PLAN, []))
    assert sorted(p.amount_cny for p in ledger) == [100_000, 100_000]
    changes = decided_under(Versions.of([PLAN_2015, amendment_2016()]), ledger)
    assert changes.reverse == ()
    assert sorted((i.owed.amount_cny, i.top_up_of in {p.payout_id for p in ledger}) for i in changes.issue) == [
        (50_000, True),
        (50_000, True),
    ]
    assert "补发差额 50000 元" in changes.issue[0].owed.explanation
    after = ledger_of(changes, ledger)
    assert decided_under(Versions.of([PLAN_2015, amendment_2016()]), after).empty  # settled: nothing more moves
    # A second raise tops up again, under a new id.
    third = amendment_2016(3, high_tech=180_000, effective_from=date(2016, 2, 1))
    again = decided_under(Versions.of([PLAN_2015, amendment_2016(), third]), after)
    assert sorted(i.owed.amount_cny for i in again.issue) == [30_000, 30_000]
    assert {i.payout_id for i in again.issue}.isdisjoint({i.payout_id for i in changes.issue})


def test_a_decrease_before_money_left_reissues_and_after_it_keeps_the_award() -> None:
    ledger = ledger_of(decided_under(Versions.of([PLAN_2015, amendment_2016()]), []))
    lower = Versions.of(
        [PLAN_2015, amendment_2016(), amendment_2016(3, high_tech=80_000, effective_from=date(2016, 2, 1))]
    )
    assert decided_under(lower, ledger, money_left=None).needs_stage
    reissued = decided_under(lower, ledger)
    assert sorted((r.reason_code, r.payout.amount_cny) for r in reissued.reverse) == [("AMENDED", 150_000)] * 2
    assert sorted(i.owed.amount_cny for i in reissued.issue) == [80_000, 80_000]
    assert "款项尚未拨出" in reissued.reverse[0].explanation and "basis changed" not in reissued.reverse[0].explanation
    paid = {ledger[0].payout_id: "paid"}
    kept = decided_under(lower, ledger, money_left=paid)
    # The paid one stands; the other role's award, whose money has not left, is reissued.
    assert [k[1] for k in kept.kept] == [ledger[0].recipient_role]
    assert [(r.payout.payout_id, i.owed.amount_cny) for r, i in zip(kept.reverse, kept.issue, strict=True)] == [
        (ledger[1].payout_id, 80_000)
    ]
    stages = {ledger[0].payout_id: "paid"}
    affected, new = affected_by(ENT, ledger, kept, stages)
    summary = summarize(affected, new)
    assert (summary.affected, summary.refused, summary.lowered, summary.lowered_cny) == (2, 1, 1, 70_000)


def test_a_preview_lists_old_and_new_amounts_with_stages_and_totals_each_way() -> None:
    ledger = ledger_of(decided_under(THE_2015_PLAN, []))
    changes = decided_under(Versions.of([PLAN_2015, amendment_2016()]), ledger)
    stages = {ledger[0].payout_id: "approved"}
    affected, new = affected_by(ENT, ledger, changes, stages)
    assert sorted((a.stage, a.old_cny, a.new_cny, a.refused) for a in affected) == [
        ("approved", 100_000, 150_000, False),
        ("owed", 100_000, 150_000, False),
    ]
    assert new == []
    s = summarize(affected, new)
    assert (s.affected, s.raised, s.raised_cny, s.lowered, s.lowered_cny, s.new_awards) == (2, 2, 100_000, 0, 0, 0)
    # The digest changes with any stage.
    assert summarize(affected, new).digest == s.digest
    assert summarize([replace(affected[0], stage="batched"), affected[1]], new).digest != s.digest


def test_a_decrease_that_allows_recovery_claws_the_paid_difference_back_once() -> None:
    ledger = ledger_of(decided_under(Versions.of([PLAN_2015, amendment_2016()]), []))
    lower = amendment_2016(3, high_tech=80_000, effective_from=date(2016, 2, 1), allows_recovery=True)
    versions = Versions.of([PLAN_2015, amendment_2016(), lower])
    paid = {p.payout_id: "paid" for p in ledger}
    changes = decided_under(versions, ledger, money_left=paid)
    assert changes.reverse == () and changes.issue == () and changes.kept == ()
    assert sorted((r.amount_cny, r.clawback_id.startswith("amended:3:")) for r in changes.recover) == [
        (70_000, True),
        (70_000, True),
    ]
    assert "差额 70000 元予以追回" in changes.recover[0].explanation
    booked = [replace(p, recovered_cny=70_000) for p in ledger]
    assert decided_under(versions, booked, money_left=paid).empty  # booked once: nothing more
    # A payment still on its way to the bank is not clawed back: the version is refused.
    on_its_way = {ledger[0].payout_id: "released", ledger[1].payout_id: "paid"}
    assert len(decided_under(versions, ledger, money_left=on_its_way).kept) == 1


def test_a_transfer_dated_before_its_listing_is_not_paid_so_it_depends_on_nothing_later() -> None:
    listed = Listing(_id(5), Board.XJEE, date(2015, 6, 1))
    early = Transfer(_id(6), date(2015, 5, 20))
    d = decide(enterprise(ADMITTED, listed, early), THE_2015_PLAN)
    assert {p.rule for p in d.payouts} == {Rule.EQUITY_LISTING}
    [decline] = d.declines
    assert (decline.reason, decline.explanation) == (
        DeclineReason.XJEE_LISTING_NOT_AWARDED,
        "2015-05-20 转板，早于获得挂牌奖励的新疆股权交易中心挂牌日期 2015-06-01，不予转板奖励。"
        " Transferred on 2015-05-20, before the awarded XJEE listing of 2015-06-01; no award.",
    )
