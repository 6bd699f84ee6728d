"""Bring the ledger to what `decide` says is owed: issue what is new, reverse what is no
longer owed, record changed declines. Pure; ids are deterministic so a replay of the
same ledger state produces the same events.
"""

import uuid
from dataclasses import dataclass
from datetime import date

from services.awards.domain.award_rules import Decision, Decline, OwedPayout
from shared.enums import RecipientRole, Rule
from shared.events import derived_id


@dataclass(frozen=True, slots=True)
class LedgerPayout:
    payout_id: uuid.UUID
    rule: Rule
    recipient_role: RecipientRole
    recipient_uscc: str
    incubator_id: str
    amount_cny: int
    basis_event_id: uuid.UUID
    basis_date: date
    issued: bool  # False once reversed


@dataclass(frozen=True, slots=True)
class Reversal:
    payout: LedgerPayout
    reason_code: str
    explanation: str


@dataclass(frozen=True, slots=True)
class Issue:
    payout_id: uuid.UUID
    owed: OwedPayout


@dataclass(frozen=True, slots=True)
class Changes:
    issue: tuple[Issue, ...]
    reverse: tuple[Reversal, ...]
    new_declines: tuple[Decline, ...]  # new, or with a changed reason
    cleared_declines: tuple[tuple[Rule, uuid.UUID], ...]  # triggers no longer declined

    @property
    def empty(self) -> bool:
        return not (self.issue or self.reverse or self.new_declines or self.cleared_declines)


def _same(p: LedgerPayout, o: OwedPayout) -> bool:
    return (p.recipient_uscc, p.incubator_id, p.amount_cny, p.basis_event_id) == (
        o.recipient_uscc,
        o.incubator_id,
        o.amount_cny,
        o.basis_event_id,
    )


def reconcile(
    *,
    enterprise_uscc: str,
    decision: Decision,
    ledger: list[LedgerPayout],
    declined: dict[tuple[Rule, uuid.UUID], str],
) -> Changes:
    owed = {(o.rule, o.recipient_role): o for o in decision.payouts}
    active = {(p.rule, p.recipient_role): p for p in ledger if p.issued}
    why_not = {(d.rule, d.basis_event_id): d for d in decision.declines}

    reverse = []
    for key, p in sorted(active.items()):
        o = owed.get(key)
        if o is not None and _same(p, o):
            continue
        decline = why_not.get((p.rule, p.basis_event_id))
        if decline is not None:
            reverse.append(Reversal(p, decline.reason, decline.explanation))
        else:
            reverse.append(Reversal(p, "SUPERSEDED", _superseded(p, o)))

    issue = []
    for key, o in sorted(owed.items()):
        live = active.get(key)
        if live is not None and _same(live, o):
            continue
        generation = sum(
            1
            for q in ledger
            if (q.rule, q.recipient_role, q.recipient_uscc, q.basis_event_id)
            == (o.rule, o.recipient_role, o.recipient_uscc, o.basis_event_id)
        )
        pid = derived_id(
            "payout", enterprise_uscc, o.rule, o.recipient_role, o.recipient_uscc, o.basis_event_id, generation
        )
        issue.append(Issue(pid, o))

    new_declines = tuple(
        d for k, d in sorted(why_not.items(), key=lambda kv: str(kv[0])) if declined.get(k) != d.reason
    )
    cleared = tuple(sorted((k for k in declined if k not in why_not), key=str))
    return Changes(tuple(issue), tuple(reverse), new_declines, cleared)


def _superseded(p: LedgerPayout, o: OwedPayout | None) -> str:
    if o is None:
        return (
            f"依据事实 {p.basis_event_id} 的奖励不再应发，予以撤销。"
            f" The award based on fact {p.basis_event_id} is no longer owed; reversed."
        )
    return (
        f"奖励依据由 {p.basis_date} 的事实变更为 {o.basis_date} 的事实（受奖方 {o.recipient_uscc}），"
        "原发放予以撤销并重新发放。"
        f" The basis changed from the fact of {p.basis_date} to the fact of {o.basis_date}"
        f" (recipient {o.recipient_uscc}); the earlier payout is reversed and a new one issued."
    )
