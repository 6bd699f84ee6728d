"""The award rules (docs/contract/policy.md) as one pure function of an enterprise's
facts and the adopted policy versions.

`decide` looks at the whole set of facts every time, so its answer cannot depend on
the order they arrived in; the ledger is reconciled to it (see `reconcile.py`). Each
fact is judged by the versions in force on its own date: the region's version gives the
award and its window, and the version of the enterprise's prefecture, if one is in
force, adds its own payouts on top, from its own budget.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Final

from services.awards.ledger.domain import explanations as say
from services.awards.ledger.domain.facts import EnterpriseFacts
from services.awards.ledger.domain.stints import (
    Stint,
    build_stints,
    latest_started_before,
    qualifying_stint,
    window_end,
)
from services.awards.policy.domain.policy import REGION, PolicyVersion, Versions, prefecture_plan_of
from shared.contract.enums import Board, DeclineReason, RecipientRole, Rule


@dataclass(frozen=True, slots=True)
class OwedPayout:
    rule: Rule
    recipient_role: RecipientRole
    recipient_uscc: str
    recipient_name: str
    incubator_id: str
    amount_cny: int
    basis_event_id: uuid.UUID
    basis_date: date
    explanation: str
    funding: str = REGION  # whose budget pays: the version's jurisdiction
    policy_version: int = 1
    recoverable: bool = False  # its version allows clawing a paid difference back


@dataclass(frozen=True, slots=True)
class Decline:
    rule: Rule
    reason: DeclineReason
    explanation: str
    basis_event_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Decision:
    payouts: tuple[OwedPayout, ...]
    declines: tuple[Decline, ...]


@dataclass(frozen=True, slots=True)
class _Trigger:
    event_id: uuid.UUID
    on: date
    what: str  # for explanations, e.g. "certified" / "listed on XJEE"
    board: Board | None = None


@dataclass(frozen=True, slots=True)
class _Award:
    trigger: _Trigger
    stint: Stint


# Every payout needs a stint (an admission) and a certification or a listing (a transfer
# pays only on top of a listing award): an enterprise without both is paid under no
# policy at all, so a what-if need not read it.
STINT_FACT: Final = "EnterpriseAdmitted"
BASIS_FACTS: Final = ("HighTechCertified", "ListedOnBoard")


def could_be_paid(facts: EnterpriseFacts) -> bool:
    return bool(facts.admissions) and bool(facts.certifications or facts.listings)


def decide(facts: EnterpriseFacts, versions: Versions) -> Decision:
    stints = build_stints(facts.admissions, facts.graduations)
    payouts: list[OwedPayout] = []
    declines: list[Decline] = []

    certs = [_Trigger(c.event_id, c.certified_on, "certified") for c in facts.certifications]
    listings = [_Trigger(x.event_id, x.listed_on, f"listed on {x.board}", x.board) for x in facts.listings]
    cert_award = _windowed_rule(Rule.HIGH_TECH_CERTIFICATION, certs, stints, versions, declines)
    listing_award = _windowed_rule(Rule.EQUITY_LISTING, listings, stints, versions, declines)
    for rule, award in ((Rule.HIGH_TECH_CERTIFICATION, cert_award), (Rule.EQUITY_LISTING, listing_award)):
        if award is not None:
            payouts += _pay(rule, award.trigger, award.stint, facts, versions)
    _transfer_rule(facts, listing_award, versions, payouts, declines)
    return Decision(tuple(payouts), tuple(declines))


def _ordered(triggers: list[_Trigger]) -> list[_Trigger]:
    return sorted(triggers, key=lambda t: (t.on, t.event_id))


def _windowed_rule(
    rule: Rule, triggers: list[_Trigger], stints: list[Stint], versions: Versions, declines: list[Decline]
) -> _Award | None:
    award: _Award | None = None
    for t in _ordered(triggers):
        gate = _gate(rule, t, versions, award.trigger if award else None)
        if gate is not None:
            declines.append(gate)
            continue
        # The window is the one in force on the fact's own date.
        years = _region(versions, t.on).window_years[rule]
        stint = qualifying_stint(stints, t.on, years)
        if stint is not None:
            award = _Award(t, stint)
            continue
        started = latest_started_before(stints, t.on)
        if started is None:
            declines.append(
                Decline(
                    rule,
                    DeclineReason.NOT_INCUBATED,
                    say.not_incubated(t.what, t.on, _first_admission(stints)),
                    t.event_id,
                )
            )
        else:
            end = window_end(started, years)
            assert started.graduated_on is not None and end is not None
            declines.append(
                Decline(
                    rule,
                    DeclineReason.OUTSIDE_WINDOW,
                    say.outside_window(t.what, t.on, started.graduated_on, end, years),
                    t.event_id,
                )
            )
    return award


def _region(versions: Versions, on: date) -> PolicyVersion:
    v = versions.in_force(REGION, on)
    assert v is not None, "a gated trigger has a region version in force"
    return v


def _gate(rule: Rule, t: _Trigger, versions: Versions, awarded: _Trigger | None) -> Decline | None:
    """The declines every rule shares: before the policy, or the award already given."""
    if versions.in_force(REGION, t.on) is None:
        first = versions.first(REGION)
        return Decline(rule, DeclineReason.BEFORE_POLICY, say.before_policy(t.what, t.on, first), t.event_id)
    if awarded is not None:
        return Decline(rule, DeclineReason.ALREADY_AWARDED, say.already_awarded(t.what, t.on, awarded.on), t.event_id)
    return None


def _first_admission(stints: list[Stint]) -> date | None:
    return min((s.admitted_on for s in stints), default=None)


def _transfer_rule(
    facts: EnterpriseFacts,
    listing_award: _Award | None,
    versions: Versions,
    payouts: list[OwedPayout],
    declines: list[Decline],
) -> None:
    rule = Rule.BOARD_TRANSFER
    awarded: _Trigger | None = None
    for t in _ordered(
        [_Trigger(x.event_id, x.transferred_on, "transferred from XJEE to NEEQ") for x in facts.transfers]
    ):
        gate = _gate(rule, t, versions, awarded)
        if gate is not None:
            declines.append(gate)
        elif listing_award is None or listing_award.trigger.board is not Board.XJEE:
            basis = None if listing_award is None else listing_award.trigger
            declines.append(
                Decline(
                    rule,
                    DeclineReason.XJEE_LISTING_NOT_AWARDED,
                    say.xjee_not_awarded(t.on, basis.what if basis else None),
                    t.event_id,
                )
            )
        elif t.on < listing_award.trigger.on:
            # A transfer is from the awarded XJEE listing, so not before it: a transfer's
            # award then depends on nothing dated after the transfer itself.
            declines.append(
                Decline(
                    rule,
                    DeclineReason.XJEE_LISTING_NOT_AWARDED,
                    say.transferred_before_listing(t.on, listing_award.trigger.on),
                    t.event_id,
                )
            )
        else:
            awarded = t
            payouts += _pay(rule, t, listing_award.stint, facts, versions)


def _pay(rule: Rule, trigger: _Trigger, stint: Stint, facts: EnterpriseFacts, versions: Versions) -> list[OwedPayout]:
    """The region's payouts for an awarded trigger, and the prefecture's on top when its
    plan is in force on the trigger's date (a 0 there adds nothing)."""
    why = say.granted(
        rule,
        what=trigger.what,
        on=trigger.on,
        incubator=stint.incubator_id,
        admitted=stint.admitted_on,
        graduated=stint.graduated_on,
    )
    in_force = [_region(versions, trigger.on)]
    prefecture = prefecture_plan_of(facts.prefecture)
    local = versions.in_force(prefecture, trigger.on) if prefecture else None
    if local is not None:
        in_force.append(local)
    recipients = (
        (RecipientRole.OPERATOR, stint.admission.operator_uscc, stint.admission.operator_name),
        (RecipientRole.ENTERPRISE, facts.uscc, facts.name),
    )
    return [
        OwedPayout(
            rule,
            role,
            uscc,
            name,
            stint.incubator_id,
            v.amount(rule, role),
            trigger.event_id,
            trigger.on,
            say.under_version(why, v),
            v.funding,
            v.version_id,
            v.allows_recovery,
        )
        for v in in_force
        for role, uscc, name in recipients
        if v.jurisdiction == REGION or v.amount(rule, role) > 0
    ]
