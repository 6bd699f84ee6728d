"""The award rules of SPEC §2.1 as one pure function of an enterprise's facts.

`decide` looks at the whole set of facts every time, so its answer cannot depend on
the order they arrived in; the ledger is reconciled to it (see `reconcile.py`).
"""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Final

from services.awards.domain import explanations as say
from services.awards.domain.facts import EnterpriseFacts
from services.awards.domain.policy import Policy
from services.awards.domain.stints import Stint, build_stints, latest_started_before, qualifying_stint, window_end
from shared.enums import Board, DeclineReason, RecipientRole, Rule


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


def decide(facts: EnterpriseFacts, policy: Policy) -> Decision:
    stints = build_stints(facts.admissions, facts.graduations)
    payouts: list[OwedPayout] = []
    declines: list[Decline] = []

    certs = [_Trigger(c.event_id, c.certified_on, "certified") for c in facts.certifications]
    listings = [_Trigger(x.event_id, x.listed_on, f"listed on {x.board}", x.board) for x in facts.listings]
    cert_award = _windowed_rule(Rule.HIGH_TECH_CERTIFICATION, certs, stints, policy, declines)
    listing_award = _windowed_rule(Rule.EQUITY_LISTING, listings, stints, policy, declines)
    for rule, award in ((Rule.HIGH_TECH_CERTIFICATION, cert_award), (Rule.EQUITY_LISTING, listing_award)):
        if award is not None:
            payouts += _pay(rule, award.trigger, award.stint, facts, policy)
    _transfer_rule(facts, listing_award, policy, payouts, declines)
    return Decision(tuple(payouts), tuple(declines))


def _ordered(triggers: list[_Trigger]) -> list[_Trigger]:
    return sorted(triggers, key=lambda t: (t.on, t.event_id))


def _windowed_rule(
    rule: Rule, triggers: list[_Trigger], stints: list[Stint], policy: Policy, declines: list[Decline]
) -> _Award | None:
    years = policy.window_years[rule]
    award: _Award | None = None
    for t in _ordered(triggers):
        gate = _gate(rule, t, policy, award.trigger if award else None)
        if gate is not None:
            declines.append(gate)
            continue
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


def _gate(rule: Rule, t: _Trigger, policy: Policy, awarded: _Trigger | None) -> Decline | None:
    """The declines every rule shares: before the policy, or the award already given."""
    if t.on < policy.effective_from:
        return Decline(
            rule, DeclineReason.BEFORE_POLICY, say.before_policy(t.what, t.on, policy.effective_from), t.event_id
        )
    if awarded is not None:
        return Decline(rule, DeclineReason.ALREADY_AWARDED, say.already_awarded(t.what, t.on, awarded.on), t.event_id)
    return None


def _first_admission(stints: list[Stint]) -> date | None:
    return min((s.admitted_on for s in stints), default=None)


def _transfer_rule(
    facts: EnterpriseFacts,
    listing_award: _Award | None,
    policy: Policy,
    payouts: list[OwedPayout],
    declines: list[Decline],
) -> None:
    rule = Rule.BOARD_TRANSFER
    awarded: _Trigger | None = None
    for t in _ordered(
        [_Trigger(x.event_id, x.transferred_on, "transferred from XJEE to NEEQ") for x in facts.transfers]
    ):
        gate = _gate(rule, t, policy, awarded)
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
        else:
            awarded = t
            payouts += _pay(rule, t, listing_award.stint, facts, policy)


def _pay(rule: Rule, trigger: _Trigger, stint: Stint, facts: EnterpriseFacts, policy: Policy) -> list[OwedPayout]:
    amount = policy.amounts[rule]
    why = say.granted(
        rule,
        what=trigger.what,
        on=trigger.on,
        incubator=stint.incubator_id,
        admitted=stint.admitted_on,
        graduated=stint.graduated_on,
    )
    return [
        OwedPayout(
            rule,
            RecipientRole.OPERATOR,
            stint.admission.operator_uscc,
            stint.admission.operator_name,
            stint.incubator_id,
            amount,
            trigger.event_id,
            trigger.on,
            why,
        ),
        OwedPayout(
            rule,
            RecipientRole.ENTERPRISE,
            facts.uscc,
            facts.name,
            stint.incubator_id,
            amount,
            trigger.event_id,
            trigger.on,
            why,
        ),
    ]
