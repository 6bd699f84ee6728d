"""The disbursement rules: each stage's answer to an approval and a reversal, four eyes,
the confirmation file's parser, and what each kind of bank line books (the whole life
of a payout in any order is tests/unit/test_payout_life.py)."""

import dataclasses
import uuid
from datetime import date

import pytest

from services.awards.disbursement.domain.disbursement import (
    ApprovalOutcome,
    OnReversal,
    Stage,
    approve,
    four_eyes,
    net_position,
    on_reversal,
    release_refusal,
    stage_of,
)
from services.awards.treasury.domain.confirmations import (
    BadLine,
    Clawback,
    ConfirmationLine,
    Direction,
    LineOutcome,
    PayoutBook,
    judge,
    parse_confirmation,
    reversed_by_rules,
)

PID = uuid.UUID("6b1c9b38-6a2e-4c0e-9d0b-1a2b3c4d5e6f")
DAY = date(2016, 10, 8)


def test_stage_of_the_ledger_status_and_the_disbursement_state() -> None:
    assert stage_of("issued", None) is Stage.OWED
    assert stage_of("reversed", None) is Stage.REVERSED
    assert stage_of("reversed", "approved") is Stage.APPROVED
    assert stage_of("reversed", "recall_requested") is Stage.RECALL_REQUESTED
    assert stage_of("issued", "paid") is Stage.PAID


def test_only_an_owed_payout_is_approved_and_not_while_its_predecessor_is_recalled() -> None:
    assert {s: approve(s) for s in Stage} == {
        Stage.OWED: ApprovalOutcome.APPROVED,
        Stage.APPROVED: ApprovalOutcome.ALREADY_APPROVED,
        Stage.BATCHED: ApprovalOutcome.ALREADY_APPROVED,
        Stage.RECALL_REQUESTED: ApprovalOutcome.ALREADY_APPROVED,
        Stage.PAID: ApprovalOutcome.ALREADY_APPROVED,
        Stage.REVERSED: ApprovalOutcome.NOT_OWED,
        Stage.CANCELLED: ApprovalOutcome.NOT_OWED,
    }
    assert approve(Stage.OWED, predecessor_recalled=True) is ApprovalOutcome.HELD_FOR_RECALL
    assert approve(None) is ApprovalOutcome.UNKNOWN_PAYOUT


def test_a_reversal_cancels_before_release_recalls_after_and_claws_back_once_paid() -> None:
    assert {(s, released): on_reversal(s, released=released) for s in Stage for released in (False, True)} == {
        **{(s, r): OnReversal.NOTHING for s in (Stage.OWED, Stage.REVERSED, Stage.CANCELLED) for r in (False, True)},
        **{(Stage.RECALL_REQUESTED, r): OnReversal.NOTHING for r in (False, True)},
        **{(Stage.APPROVED, r): OnReversal.CANCEL for r in (False, True)},
        (Stage.BATCHED, False): OnReversal.CANCEL,
        (Stage.BATCHED, True): OnReversal.RECALL,
        **{(Stage.PAID, r): OnReversal.CLAWBACK for r in (False, True)},
    }


def test_four_eyes_and_a_release_refused_for_reversed_lines() -> None:
    assert four_eyes("bob", "alice") is None
    assert four_eyes("bob", "bob") == "four eyes: bob prepared this batch and cannot also approve it"
    assert release_refusal([]) is None
    assert release_refusal(["b", "a"]) == (
        "lines reversed since the batch was prepared: a, b; void this batch and prepare a new one"
    )


def test_net_position_is_paid_minus_recovered_and_never_negative() -> None:
    assert net_position(300_000, 100_000) == 200_000
    with pytest.raises(ValueError, match="recovered 100001 exceeds paid 100000"):
        net_position(100_000, 100_001)


def test_the_confirmation_file_is_answered_line_by_line() -> None:
    text = (
        "payout_id,direction,amount_cny,value_date,reference\r\n"
        f"{PID},paid,100000,2016-10-08,BANK-1\r\n"
        "\r\n"
        "not-a-uuid,paid,1,2016-10-08,X\r\n"
        f"{PID},refund,1,2016-10-08,X\r\n"
        f"{PID},paid,-5,2016-10-08,X\r\n"
        f"{PID},recovered,100000,2016-13-01,X\r\n"
        f"{PID},recovered,100000,2016-12-01,\r\n"
        f"{PID},paid\r\n"
        f"{PID},returned,100000,2016-10-09,RET-1\r\n"
    )
    assert parse_confirmation(text) == [
        ConfirmationLine(2, PID, Direction.PAID, 100_000, DAY, "BANK-1"),
        BadLine(4, "payout_id 'not-a-uuid' is not a UUID"),
        BadLine(5, "direction 'refund' is none of paid, recovered, returned"),
        BadLine(6, "amount_cny '-5' is not a positive whole number of yuan"),
        BadLine(7, "value_date '2016-13-01' is not a date written YYYY-MM-DD"),
        BadLine(8, "reference must be 1 to 100 characters"),
        BadLine(9, "2 fields; a line has 5"),
        ConfirmationLine(10, PID, Direction.RETURNED, 100_000, date(2016, 10, 9), "RET-1"),
    ]
    assert parse_confirmation("id,amount\n1,2\n") == [
        BadLine(1, "the header must be payout_id,direction,amount_cny,value_date,reference[,clawback_id]")
    ]


def test_a_recovered_line_may_name_its_clawback_in_a_sixth_column() -> None:
    text = (
        "payout_id,direction,amount_cny,value_date,reference,clawback_id\n"
        f"{PID},recovered,5000,2017-01-09,BACK-1,overpayment:{PID}:BANK-2\n"
        f"{PID},recovered,5000,2017-01-09,BACK-2,\n"
        f"{PID},paid,5000,2017-01-09,BANK-3,reversal:{PID}\n"
    )
    assert parse_confirmation(text) == [
        ConfirmationLine(2, PID, Direction.RECOVERED, 5000, date(2017, 1, 9), "BACK-1", f"overpayment:{PID}:BANK-2"),
        ConfirmationLine(3, PID, Direction.RECOVERED, 5000, date(2017, 1, 9), "BACK-2"),
        BadLine(4, "only a recovered line names a clawback"),
    ]


def book(stage: Stage, **kw: object) -> PayoutBook:
    return PayoutBook(PID, stage, 100_000, **{"released": True, **kw})  # type: ignore[arg-type]


def paid(reference: str = "BANK-1", amount: int = 100_000) -> ConfirmationLine:
    return ConfirmationLine(2, PID, Direction.PAID, amount, DAY, reference)


def test_a_paid_line_pays_a_released_line_for_its_amount() -> None:
    v = judge(paid(), book(Stage.BATCHED))
    assert (v.outcome, v.message, v.paid, v.opens_exception) == (LineOutcome.PAID, "100000 CNY paid", True, False)
    assert v.after == book(Stage.PAID, payments=(("BANK-1", 100_000),))


@pytest.mark.parametrize(
    ("state", "outcome", "message"),
    [
        (
            book(Stage.BATCHED, released=False),
            LineOutcome.NOT_RELEASED,
            "the payout is batched, not in a released batch",
        ),
        (
            book(Stage.APPROVED, released=False),
            LineOutcome.NOT_RELEASED,
            "the payout is approved, not in a released batch",
        ),
        (book(Stage.CANCELLED, released=False), LineOutcome.CANCELLED, "the payout was cancelled before its file left"),
        (
            PayoutBook(PID, Stage.BATCHED, 200_000, released=True),
            LineOutcome.AMOUNT_MISMATCH,
            "the payout is 200000 CNY, the line says 100000",
        ),
    ],
)
def test_a_paid_line_that_books_nothing_opens_an_exception(
    state: PayoutBook, outcome: LineOutcome, message: str
) -> None:
    v = judge(paid(), state)
    assert (v.outcome, v.message, v.after, v.opens_exception) == (
        outcome,
        f"{message}; an exception is open",
        state,
        True,
    )
    unknown = judge(paid(), None)
    assert (unknown.outcome, unknown.message, unknown.opens_exception) == (
        LineOutcome.UNKNOWN_PAYOUT,
        f"no payout {PID}; an exception is open",
        True,
    )


def test_paid_after_a_recall_books_it_and_raises_a_clawback_of_its_amount() -> None:
    recalled, _ = reversed_by_rules(book(Stage.BATCHED), "OUTSIDE_WINDOW")
    assert recalled.stage is Stage.RECALL_REQUESTED
    v = judge(paid(), recalled)
    claw = Clawback(f"reversal:{PID}", 100_000, "OUTSIDE_WINDOW")
    assert (v.outcome, v.raised, v.opens_exception) == (LineOutcome.PAID_AFTER_RECALL, claw, False)
    assert v.after is not None and (v.after.stage, v.after.clawbacks, v.after.outstanding_cny) == (
        Stage.PAID,
        (claw,),
        100_000,
    )


def test_a_return_is_held_until_a_second_person_confirms_it_and_then_ends_the_recall() -> None:
    recalled, _ = reversed_by_rules(book(Stage.BATCHED), "OUTSIDE_WINDOW")
    back = ConfirmationLine(2, PID, Direction.RETURNED, 100_000, DAY, "RET-1")
    held = judge(back, recalled)
    assert (held.outcome, held.held, held.returned, held.opens_exception, held.message) == (
        LineOutcome.RETURN_HELD,
        True,
        False,
        False,
        "the bank says it stopped the payment: held until a second person confirms; the recall stands",
    )
    assert held.after is not None and (held.after.stage, held.after.held_return) == (Stage.RECALL_REQUESTED, "RET-1")
    assert judge(back, held.after).outcome is LineOutcome.ALREADY_HELD  # the file again
    other = judge(ConfirmationLine(3, PID, Direction.RETURNED, 100_000, DAY, "RET-2"), held.after)
    assert (other.outcome, other.opens_exception) == (LineOutcome.NOT_RECALLED, True)
    v = judge(back, held.after, confirming=True)
    assert (v.outcome, v.returned, v.message) == (LineOutcome.RETURNED, True, "the bank stopped the payment: cancelled")
    assert v.after is not None and (v.after.stage, v.after.returned_reference, v.after.held_return) == (
        Stage.CANCELLED,
        "RET-1",
        None,
    )
    assert judge(back, v.after).outcome is LineOutcome.ALREADY_RETURNED
    unexpected = judge(back, book(Stage.BATCHED))
    assert (unexpected.outcome, unexpected.opens_exception) == (LineOutcome.NOT_RECALLED, True)


def test_a_held_return_the_bank_then_paid_is_not_booked_when_confirmed() -> None:
    recalled, _ = reversed_by_rules(book(Stage.BATCHED), "OUTSIDE_WINDOW")
    back = ConfirmationLine(2, PID, Direction.RETURNED, 100_000, DAY, "RET-1")
    held = judge(back, recalled).after
    assert held is not None
    paid_after = judge(paid(), held).after
    assert paid_after is not None and paid_after.stage is Stage.PAID
    v = judge(back, paid_after, confirming=True)
    assert (v.outcome, v.returned) == (LineOutcome.NOT_RECALLED, False)


def test_a_second_debit_under_a_new_reference_is_an_overpayment_with_its_own_clawback() -> None:
    once = book(Stage.PAID, payments=(("BANK-1", 100_000),))
    assert judge(paid("BANK-1"), once).outcome is LineOutcome.ALREADY_PAID
    v = judge(paid("BANK-2", 90_000), once)
    claw = Clawback(f"overpayment:{PID}:BANK-2", 90_000, "SECOND_DEBIT")
    assert (v.outcome, v.raised, v.paid, v.opens_exception) == (LineOutcome.SECOND_DEBIT, claw, True, True)
    assert v.message == (
        f"a second debit: paid before under BANK-1; 90000 CNY booked as an overpayment, clawback {claw.clawback_id} "
        "raised, an exception is open"
    )
    assert v.after is not None and (v.after.money_out_cny, v.after.entitled_cny, v.after.outstanding_cny) == (
        190_000,
        100_000,
        90_000,
    )


def test_a_recovered_line_holds_the_one_open_clawback_or_the_one_it_names_for_a_second_person() -> None:
    reversal = Clawback(f"reversal:{PID}", 100_000, "OUTSIDE_WINDOW")
    over = Clawback(f"overpayment:{PID}:BANK-2", 100_000, "SECOND_DEBIT")
    one = book(Stage.PAID, payments=(("BANK-1", 100_000),), clawbacks=(reversal,))
    back = ConfirmationLine(3, PID, Direction.RECOVERED, 100_000, date(2017, 1, 9), "BACK-9")
    held = judge(back, one)
    assert (held.outcome, held.held, held.settled, held.message) == (
        LineOutcome.SETTLEMENT_HELD,
        True,
        None,
        f"100000 CNY received for clawback {reversal.clawback_id}: held until a second person confirms; "
        "the clawback stays open",
    )
    assert held.after is not None and (held.after.outstanding_cny, held.after.recovered_cny) == (100_000, 0)
    assert held.after.clawbacks == (dataclasses.replace(reversal, held_reference="BACK-9"),)
    assert judge(back, held.after).outcome is LineOutcome.ALREADY_HELD
    again = ConfirmationLine(4, PID, Direction.RECOVERED, 100_000, date(2017, 1, 9), "BACK-10")
    assert judge(again, held.after).outcome is LineOutcome.NO_CLAWBACK  # not settled twice over
    v = judge(back, held.after, confirming=True)
    assert (v.outcome, v.settled, v.message) == (
        LineOutcome.SETTLED,
        reversal.clawback_id,
        f"clawback {reversal.clawback_id} of 100000 CNY settled",
    )
    assert v.after is not None and (v.after.outstanding_cny, v.after.recovered_cny) == (0, 100_000)
    assert judge(back, v.after).outcome is LineOutcome.ALREADY_SETTLED
    two = book(Stage.PAID, payments=(("BANK-1", 100_000), ("BANK-2", 100_000)), clawbacks=(reversal, over))
    assert judge(back, two).outcome is LineOutcome.CLAWBACK_NOT_NAMED
    named = ConfirmationLine(3, PID, Direction.RECOVERED, 100_000, date(2017, 1, 9), "BACK-9", over.clawback_id)
    named_held = judge(named, two).after
    assert named_held is not None
    assert judge(named, named_held, confirming=True).settled == over.clawback_id
    assert judge(back, book(Stage.PAID, payments=(("BANK-1", 100_000),))).outcome is LineOutcome.NO_CLAWBACK
    half = ConfirmationLine(3, PID, Direction.RECOVERED, 50_000, date(2017, 1, 9), "BACK-9")
    assert judge(half, one).outcome is LineOutcome.AMOUNT_MISMATCH
