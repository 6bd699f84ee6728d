"""Bring the ledger to what `decide` says is owed: issue what is new, reverse what is no
longer owed, record changed declines. Pure; ids are deterministic so a replay of the
same ledger state produces the same events.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from services.awards.ledger.domain.award_rules import Decision, Decline, OwedPayout
from services.awards.policy.domain.policy import REGION
from shared.contract.enums import RecipientRole, Rule
from shared.contract.events import derived_id


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
    funding: str = REGION
    top_up: bool = False  # the difference a version reaching back added to an award
    recovered_cny: int = 0  # what a version reaching back clawed back of it

    @property
    def held_cny(self) -> int:
        return self.amount_cny - self.recovered_cny


# A live award: (rule, recipient role, funding). Its payout and its top-ups sum to what
# the versions in force on its basis date say.
Key = tuple[Rule, RecipientRole, str]


@dataclass(frozen=True, slots=True)
class Reversal:
    payout: LedgerPayout
    reason_code: str
    explanation: str


@dataclass(frozen=True, slots=True)
class Issue:
    payout_id: uuid.UUID
    owed: OwedPayout
    top_up_of: uuid.UUID | None = None  # the award this adds to; owed.amount_cny is then the difference


@dataclass(frozen=True, slots=True)
class Recovery:
    """A version lowered an award whose money was paid, and allows recovery: the difference
    is clawed back from this payout."""

    payout: LedgerPayout
    amount_cny: int
    policy_version: int
    explanation: str

    @property
    def clawback_id(self) -> str:
        return f"amended:{self.policy_version}:{self.payout.payout_id}"


@dataclass(frozen=True, slots=True)
class Changes:
    issue: tuple[Issue, ...]
    reverse: tuple[Reversal, ...]
    new_declines: tuple[Decline, ...]  # new, or with a changed reason
    cleared_declines: tuple[tuple[Rule, uuid.UUID], ...]  # triggers no longer declined
    recover: tuple[Recovery, ...] = ()
    # Awards whose money has left and whose amount a version would lower without leave to
    # recover it (or while a released payment awaits the bank's answer): they stand, and
    # adoption refuses such a version (`policy_drafts.refusal`).
    kept: tuple[Key, ...] = ()
    # A decrease met payouts whose disbursement stage was not given: call again with it.
    needs_stage: bool = False

    @property
    def empty(self) -> bool:
        return not (self.issue or self.reverse or self.new_declines or self.cleared_declines or self.recover)


def key_of(p: LedgerPayout | OwedPayout) -> Key:
    return (p.rule, p.recipient_role, p.funding)


def _same_basis(p: LedgerPayout, o: OwedPayout) -> bool:
    return (p.recipient_uscc, p.incubator_id, p.basis_event_id) == (o.recipient_uscc, o.incubator_id, o.basis_event_id)


def reconcile(
    *,
    enterprise_uscc: str,
    decision: Decision,
    ledger: list[LedgerPayout],
    declined: dict[tuple[Rule, uuid.UUID], str],
    money_left: Mapping[uuid.UUID, str] | None = None,
) -> Changes:
    """`money_left`: the payouts of this enterprise whose money left, with where it is:
    "released" (its batch went to the bank) or "paid". None: not known; a decrease then
    asks for it through `needs_stage`."""
    owed = {key_of(o): o for o in decision.payouts}
    live: dict[Key, list[LedgerPayout]] = {}
    for p in ledger:
        if p.issued:
            live.setdefault(key_of(p), []).append(p)
    why_not = {(d.rule, d.basis_event_id): d for d in decision.declines}
    plan = _Plan(enterprise_uscc, ledger)
    for key in sorted(owed.keys() | live.keys()):
        plan.settle_key(key, live.get(key, []), owed.get(key), why_not, money_left)
    new_declines = tuple(
        d for k, d in sorted(why_not.items(), key=lambda kv: str(kv[0])) if declined.get(k) != d.reason
    )
    cleared = tuple(sorted((k for k in declined if k not in why_not), key=str))
    return Changes(
        tuple(plan.issue),
        tuple(plan.reverse),
        new_declines,
        cleared,
        tuple(plan.recover),
        tuple(plan.kept),
        plan.needs_stage,
    )


@dataclass
class _Plan:
    """The changes `reconcile` gathers, with the deterministic ids of what it issues."""

    uscc: str
    ledger: list[LedgerPayout]
    issue: list[Issue] = field(default_factory=list)
    reverse: list[Reversal] = field(default_factory=list)
    recover: list[Recovery] = field(default_factory=list)
    kept: list[Key] = field(default_factory=list)
    needs_stage: bool = False

    def settle_key(
        self,
        key: Key,
        rows: list[LedgerPayout],
        o: OwedPayout | None,
        why_not: dict[tuple[Rule, uuid.UUID], Decline],
        money_left: Mapping[uuid.UUID, str] | None,
    ) -> None:
        """One award (rule, role, funding): what is live under it against what is owed."""
        base = next((p for p in rows if not p.top_up), None)
        if base is None or o is None or not _same_basis(base, o):
            self.replace(rows, o, why_not)
            return
        delta = o.amount_cny - sum(p.held_cny for p in rows)
        if delta > 0:
            self.top_up(base, o, delta)
        elif delta < 0:
            self.lower(key, rows, o, -delta, money_left)

    def lower(
        self, key: Key, rows: list[LedgerPayout], o: OwedPayout, by: int, money_left: Mapping[uuid.UUID, str] | None
    ) -> None:
        """A lower amount: reissued before any money left, recovered from what was paid if
        the version allows it, else kept as it is."""
        if money_left is None:
            self.needs_stage = True
        elif not any(p.payout_id in money_left for p in rows):
            self.reissue(rows, o)
        elif not self.recover_from(rows, o, by, money_left):
            self.kept.append(key)

    def recover_from(
        self, rows: list[LedgerPayout], o: OwedPayout, amount: int, money_left: Mapping[uuid.UUID, str]
    ) -> bool:
        """Claw `amount` back from the paid payouts of an award, if its version allows it and
        no payment of it is still on its way (the bank may yet return that one)."""
        if not o.recoverable or any(money_left.get(p.payout_id) == "released" for p in rows):
            return False
        paid = [p for p in sorted(rows, key=lambda p: (p.top_up, p.payout_id)) if money_left.get(p.payout_id) == "paid"]
        if sum(p.held_cny for p in paid) < amount:
            return False
        held = sum(p.held_cny for p in rows)
        for p in paid:
            take = min(p.held_cny, amount)
            if take:
                self.recover.append(Recovery(p, take, o.policy_version, _recovered(held, o)))
            amount -= take
        return True

    def replace(
        self, rows: list[LedgerPayout], o: OwedPayout | None, why_not: dict[tuple[Rule, uuid.UUID], Decline]
    ) -> None:
        """Reverse what is live under this key (if anything) and issue what is owed (if anything)."""
        for p in sorted(rows, key=lambda p: p.payout_id):
            decline = why_not.get((p.rule, p.basis_event_id))
            if decline is not None:
                self.reverse.append(Reversal(p, decline.reason, decline.explanation))
            else:
                self.reverse.append(Reversal(p, "SUPERSEDED", _superseded(p, o)))
        if o is not None:
            self._issue_award(o)

    def reissue(self, rows: list[LedgerPayout], o: OwedPayout) -> None:
        """A lower amount before any money left: the payout is reissued at it."""
        held = sum(p.held_cny for p in rows)
        for p in sorted(rows, key=lambda p: p.payout_id):
            self.reverse.append(Reversal(p, "AMENDED", _amended(held, o)))
        self._issue_award(o)

    def top_up(self, base: LedgerPayout, o: OwedPayout, delta: int) -> None:
        """A higher amount: the difference, as a payout of its own; what was approved,
        batched or paid of the award stands."""
        n = sum(
            1 for q in self.ledger if q.top_up and key_of(q) == key_of(base) and q.basis_event_id == base.basis_event_id
        )
        pid = derived_id("top-up", base.payout_id, n)
        why = _topped_up(delta, o)
        self.issue.append(Issue(pid, replace(o, amount_cny=delta, explanation=why), top_up_of=base.payout_id))

    def _issue_award(self, o: OwedPayout) -> None:
        generation = sum(
            1
            for q in self.ledger
            if not q.top_up
            and (q.rule, q.recipient_role, q.recipient_uscc, q.basis_event_id, q.funding)
            == (o.rule, o.recipient_role, o.recipient_uscc, o.basis_event_id, o.funding)
        )
        # The region's ids are what they were before prefectures could pay.
        funding = () if o.funding == REGION else (o.funding,)
        pid = derived_id(
            "payout", self.uscc, o.rule, o.recipient_role, o.recipient_uscc, o.basis_event_id, generation, *funding
        )
        self.issue.append(Issue(pid, o))


def _amended(held: int, o: OwedPayout) -> str:
    return (
        f"依据政策版本 {o.policy_version}，该项奖励金额由 {held} 元调整为 {o.amount_cny} 元；款项尚未拨出，"
        "原发放予以撤销并按新金额重新发放，原审批随之作废。"
        f" Under policy version {o.policy_version} this award is {o.amount_cny} CNY, not {held}; no money had left,"
        " so the payout is reversed and reissued at the new amount (any approval it had is void)."
    )


def _recovered(held: int, o: OwedPayout) -> str:
    return (
        f"依据政策版本 {o.policy_version}（允许追回），该项奖励金额由 {held} 元调整为 {o.amount_cny} 元；"
        f"款项已拨付，差额 {held - o.amount_cny} 元予以追回。"
        f" Under policy version {o.policy_version}, which allows recovery, this award is {o.amount_cny} CNY, not"
        f" {held}; it was paid, so the difference of {held - o.amount_cny} CNY is clawed back."
    )


def _topped_up(delta: int, o: OwedPayout) -> str:
    return (
        f"依据政策版本 {o.policy_version}，该项奖励金额调整为 {o.amount_cny} 元，补发差额 {delta} 元；"
        "原发放及其审批、拨付不变。"
        f" Under policy version {o.policy_version} this award is {o.amount_cny} CNY: the difference of {delta} CNY"
        " is paid on top; what was approved or paid of it stands."
    )


def _superseded(p: LedgerPayout, o: OwedPayout | None) -> str:
    if o is None:
        return (
            f"依据事实 {p.basis_event_id} 的奖励不再应发，予以撤销。"
            f" The award based on fact {p.basis_event_id} is no longer owed; reversed."
        )
    if p.basis_event_id == o.basis_event_id:
        return (
            f"依据 {p.basis_date} 的同一事实，奖励现应发给 {o.recipient_uscc}（孵化器 {o.incubator_id}），"
            "原发放予以撤销并重新发放。"
            f" On the same fact of {p.basis_date} the award now goes to {o.recipient_uscc}"
            f" (incubator {o.incubator_id}); the earlier payout is reversed and a new one issued."
        )
    return (
        f"奖励依据由 {p.basis_date} 的事实变更为 {o.basis_date} 的事实（受奖方 {o.recipient_uscc}），"
        "原发放予以撤销并重新发放。"
        f" The basis changed from the fact of {p.basis_date} to the fact of {o.basis_date}"
        f" (recipient {o.recipient_uscc}); the earlier payout is reversed and a new one issued."
    )
