"""The whole life of a payout in the pure rules, in any order: approve, prepare, void,
release, reverse, and the bank paying (once, twice), returning, the recipient paying
back, and a second person confirming or rejecting the held returns and repayments.
Whatever happens, the money that left minus the money that came back is what the
books say the recipient may keep plus what it still owes, and no second payment is
booked without a clawback of its own."""

import dataclasses
import uuid
from datetime import date

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from services.awards.disbursement.domain.disbursement import ApprovalOutcome, Stage, approve
from services.awards.treasury.domain.confirmations import (
    ConfirmationLine,
    Direction,
    LineOutcome,
    PayoutBook,
    judge,
    reversed_by_rules,
    without_hold,
)

PID = uuid.UUID("00000000-0000-0000-0000-0000000000aa")
AMOUNT = 100_000
DAY = date(2016, 10, 8)


def line(direction: Direction, amount: int, reference: str, clawback_id: str | None = None) -> ConfirmationLine:
    return ConfirmationLine(2, PID, direction, amount, DAY, reference, clawback_id)


class PayoutLife(RuleBasedStateMachine):
    """The books of one payout beside what really happened at the bank."""

    def __init__(self) -> None:
        super().__init__()
        self.book = PayoutBook(PID, Stage.OWED, AMOUNT, released=False)
        self.out = 0  # money that left
        self.back = 0  # money that came back
        self.bank_paid = False
        self.bank_returned = False
        self.held: list[ConfirmationLine] = []  # lines awaiting a second person
        self.outcomes: list[LineOutcome] = []

    @precondition(lambda m: approve(m.book.stage) is ApprovalOutcome.APPROVED)
    @rule()
    def approve(self) -> None:
        self.book = dataclasses.replace(self.book, stage=Stage.APPROVED)

    @precondition(lambda m: m.book.stage is Stage.APPROVED)
    @rule()
    def prepare(self) -> None:
        self.book = dataclasses.replace(self.book, stage=Stage.BATCHED, released=False)

    @precondition(lambda m: m.book.stage is Stage.BATCHED and not m.book.released)
    @rule()
    def void(self) -> None:
        self.book = dataclasses.replace(self.book, stage=Stage.APPROVED)

    @precondition(lambda m: m.book.stage is Stage.BATCHED and not m.book.released)
    @rule()
    def release(self) -> None:
        self.book = dataclasses.replace(self.book, released=True)

    @precondition(lambda m: m.book.reversal_reason is None)
    @rule()
    def reverse(self) -> None:
        self.book, _ = reversed_by_rules(self.book, "OUTSIDE_WINDOW")

    @precondition(lambda m: m.book.released and not m.bank_returned)
    @rule(n=st.integers(0, 3))
    def bank_pays(self, n: int) -> None:
        """The bank has the released file: it may pay it, and again under a new reference."""
        verdict = judge(line(Direction.PAID, AMOUNT, f"BANK-{n}"), self.book)
        if verdict.outcome is not LineOutcome.ALREADY_PAID:
            self.out += AMOUNT
            self.bank_paid = True
        assert verdict.outcome in {
            LineOutcome.PAID,
            LineOutcome.PAID_AFTER_RECALL,
            LineOutcome.SECOND_DEBIT,
            LineOutcome.ALREADY_PAID,
        }, verdict
        self.outcomes.append(verdict.outcome)
        self.book = verdict.after or self.book

    @precondition(lambda m: m.book.released and not m.bank_paid and not m.bank_returned)
    @rule(n=st.integers(0, 1))
    def bank_returns(self, n: int) -> None:
        """A stopped payment: no money moved either way."""
        returned = line(Direction.RETURNED, AMOUNT, f"RET-{n}")
        verdict = judge(returned, self.book)
        self.bank_returned = True
        assert verdict.outcome in {LineOutcome.RETURN_HELD, LineOutcome.NOT_RECALLED}, verdict
        assert verdict.opens_exception == (verdict.outcome is LineOutcome.NOT_RECALLED)
        if verdict.held:
            self.held.append(returned)
        self.outcomes.append(verdict.outcome)
        self.book = verdict.after or self.book

    @precondition(lambda m: any(c.open and c.held_reference is None for c in m.book.clawbacks))
    @rule(n=st.integers(0, 3))
    def recipient_pays_back(self, n: int) -> None:
        owed = [c for c in self.book.clawbacks if c.open and c.held_reference is None]
        claw = owed[n % len(owed)]
        named = claw.clawback_id if len(owed) > 1 else None  # old files name none
        back = line(Direction.RECOVERED, claw.amount_cny, f"BACK-{claw.clawback_id}", named)
        verdict = judge(back, self.book)
        assert verdict.outcome is LineOutcome.SETTLEMENT_HELD, verdict
        self.held.append(back)
        self.outcomes.append(verdict.outcome)
        self.book = verdict.after or self.book

    @precondition(lambda m: bool(m.held))
    @rule(n=st.integers(0, 3))
    def second_person_confirms(self, n: int) -> None:
        """A held line is booked exactly as the bank said it (nothing else could take it)."""
        held = self.held.pop(n % len(self.held))
        verdict = judge(held, self.book, confirming=True)
        if held.direction is Direction.RECOVERED:
            assert verdict.outcome is LineOutcome.SETTLED, verdict
            self.back += held.amount_cny
        else:
            assert verdict.outcome is LineOutcome.RETURNED, verdict
        self.outcomes.append(verdict.outcome)
        self.book = verdict.after or self.book

    @precondition(lambda m: bool(m.held))
    @rule(n=st.integers(0, 3))
    def second_person_rejects(self, n: int) -> None:
        """Nothing is booked: the debt stays open, the recall stays requested."""
        held = self.held.pop(n % len(self.held))
        self.book = without_hold(self.book, held.reference)

    @rule()
    def nothing_happens(self) -> None:
        """A reversed payout nobody approved has no more moves: the machine may idle."""

    @invariant()
    def the_books_follow_the_money(self) -> None:
        b = self.book
        assert b.money_out_cny == self.out  # every payment that left is booked
        assert b.recovered_cny == self.back  # only what a second person confirmed
        held_back = [h for h in self.held if h.direction is Direction.RECOVERED]
        assert sorted(c.held_reference for c in b.clawbacks if c.held_reference) == sorted(
            h.reference for h in held_back
        )
        assert all(c.open for c in b.clawbacks if c.held_reference)  # a held settlement settles nothing
        held_return = [h.reference for h in self.held if h.direction is Direction.RETURNED]
        assert [b.held_return] == (held_return or [None])
        if b.held_return is not None:
            assert b.stage is Stage.RECALL_REQUESTED  # the recall stands until confirmed
        assert self.out - self.back == b.entitled_cny + b.outstanding_cny
        overpaid = [c for c in b.clawbacks if c.clawback_id.startswith("overpayment:")]
        assert len(b.payments) <= 1 + len(overpaid)  # a second payment has its own clawback
        if b.reversal_reason is not None and b.payments:
            assert any(c.clawback_id == f"reversal:{b.payout_id}" for c in b.clawbacks)  # reversed and paid: owed back
        if b.released and b.stage is Stage.CANCELLED:
            assert b.returned_reference is not None  # a released line ends cancelled only by the bank


PayoutLife.TestCase.settings = settings(max_examples=400, stateful_step_count=16, deadline=None)
TestPayoutLife = PayoutLife.TestCase


def test_each_ending_is_reachable() -> None:
    """The machine above is only as good as the paths it walks: each of these endings is a
    sequence it can take."""
    m = PayoutLife()
    for act in (m.approve, m.prepare, m.release):
        act()
    m.bank_pays(0)
    m.bank_pays(1)
    m.reverse()
    assert m.outcomes == [LineOutcome.PAID, LineOutcome.SECOND_DEBIT]
    assert sorted(c.clawback_id for c in m.book.clawbacks) == [f"overpayment:{PID}:BANK-1", f"reversal:{PID}"]
    m.recipient_pays_back(0)
    m.recipient_pays_back(0)
    m.the_books_follow_the_money()
    assert (m.out, m.back, m.book.outstanding_cny) == (200_000, 0, 200_000)  # held, not booked
    m.second_person_rejects(1)
    m.second_person_confirms(0)
    m.the_books_follow_the_money()
    assert (m.out, m.back, m.book.outstanding_cny, m.book.entitled_cny) == (200_000, 100_000, 100_000, 0)
    m.recipient_pays_back(0)
    m.second_person_confirms(0)
    assert m.outcomes[2:] == [LineOutcome.SETTLEMENT_HELD] * 2 + [
        LineOutcome.SETTLED,
        LineOutcome.SETTLEMENT_HELD,
        LineOutcome.SETTLED,
    ]
    assert (m.back, m.book.outstanding_cny, m.book.entitled_cny) == (200_000, 0, 0)
    r = PayoutLife()
    for act in (r.approve, r.prepare, r.release, r.reverse):
        act()
    r.bank_returns(0)
    assert (r.book.stage, r.book.held_return) == (Stage.RECALL_REQUESTED, "RET-0")
    r.second_person_confirms(0)
    assert (r.book.stage, r.book.returned_reference, r.outcomes) == (
        Stage.CANCELLED,
        "RET-0",
        [LineOutcome.RETURN_HELD, LineOutcome.RETURNED],
    )
