"""The disbursement rules (services/awards/domain/disbursement.py): each stage's answer
to an approval, a reversal and a confirmation line, and the confirmation file's parser."""

import uuid
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.awards.domain.disbursement import (
    ApprovalOutcome,
    BadLine,
    ConfirmationLine,
    Direction,
    LineOutcome,
    OnReversal,
    Stage,
    Standing,
    approve,
    four_eyes,
    judge,
    net_position,
    on_reversal,
    parse_confirmation,
    stage_of,
)

PID = uuid.UUID("6b1c9b38-6a2e-4c0e-9d0b-1a2b3c4d5e6f")


def test_stage_of_the_ledger_status_and_the_disbursement_state() -> None:
    assert stage_of("issued", None) is Stage.OWED
    assert stage_of("reversed", None) is Stage.REVERSED
    assert stage_of("reversed", "approved") is Stage.APPROVED
    assert stage_of("issued", "paid") is Stage.PAID


def test_only_an_owed_payout_is_approved() -> None:
    assert {s: approve(s) for s in Stage} == {
        Stage.OWED: ApprovalOutcome.APPROVED,
        Stage.APPROVED: ApprovalOutcome.ALREADY_APPROVED,
        Stage.BATCHED: ApprovalOutcome.ALREADY_APPROVED,
        Stage.PAID: ApprovalOutcome.ALREADY_APPROVED,
        Stage.REVERSED: ApprovalOutcome.NOT_OWED,
        Stage.CANCELLED: ApprovalOutcome.NOT_OWED,
    }
    assert approve(None) is ApprovalOutcome.UNKNOWN_PAYOUT


def test_a_reversal_cancels_before_payment_and_claws_back_after() -> None:
    assert {s: on_reversal(s) for s in Stage} == {
        Stage.OWED: OnReversal.NOTHING,
        Stage.REVERSED: OnReversal.NOTHING,
        Stage.APPROVED: OnReversal.CANCEL,
        Stage.BATCHED: OnReversal.CANCEL,
        Stage.PAID: OnReversal.CLAWBACK,
        Stage.CANCELLED: OnReversal.NOTHING,
    }


def test_four_eyes() -> None:
    assert four_eyes("bob", "alice") is None
    assert four_eyes("bob", "bob") == "four eyes: bob prepared this batch and cannot also approve it"


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
    )
    assert parse_confirmation(text) == [
        ConfirmationLine(2, PID, Direction.PAID, 100_000, date(2016, 10, 8), "BANK-1"),
        BadLine(4, "payout_id 'not-a-uuid' is not a UUID"),
        BadLine(5, "direction 'refund' is neither paid nor recovered"),
        BadLine(6, "amount_cny '-5' is not a positive whole number of yuan"),
        BadLine(7, "value_date '2016-13-01' is not a date written YYYY-MM-DD"),
        BadLine(8, "reference must be 1 to 100 characters"),
        BadLine(9, "2 fields; a line has 5"),
    ]
    assert parse_confirmation("id,amount\n1,2\n") == [
        BadLine(1, "the header must be payout_id,direction,amount_cny,value_date,reference")
    ]


def _standing(stage: Stage, **kw: object) -> Standing:
    values: dict[str, object] = {
        "stage": stage,
        "amount_cny": 100_000,
        "released": True,
        "paid_reference": None,
        "clawback_cny": None,
        "settled_reference": None,
    }
    return Standing(**{**values, **kw})  # type: ignore[arg-type]


PAID_LINE = ConfirmationLine(2, PID, Direction.PAID, 100_000, date(2016, 10, 8), "BANK-1")
RECOVERED_LINE = ConfirmationLine(3, PID, Direction.RECOVERED, 100_000, date(2017, 1, 9), "BANK-9")


def test_a_paid_line_pays_only_a_batched_payout_of_a_released_batch_for_its_amount() -> None:
    assert judge(PAID_LINE, _standing(Stage.BATCHED)) == (LineOutcome.PAID, "100000 CNY paid")
    assert judge(PAID_LINE, _standing(Stage.BATCHED, released=False))[0] is LineOutcome.NOT_RELEASED
    assert judge(PAID_LINE, _standing(Stage.APPROVED, released=False))[0] is LineOutcome.NOT_RELEASED
    assert judge(PAID_LINE, _standing(Stage.BATCHED, amount_cny=200_000)) == (
        LineOutcome.AMOUNT_MISMATCH,
        "the payout is 200000 CNY, the line says 100000; nothing changed",
    )
    assert judge(PAID_LINE, _standing(Stage.PAID, paid_reference="BANK-1")) == (
        LineOutcome.ALREADY_PAID,
        "paid before (reference BANK-1); nothing changed",
    )
    assert judge(PAID_LINE, _standing(Stage.CANCELLED))[0] is LineOutcome.CANCELLED
    assert judge(PAID_LINE, None) == (LineOutcome.UNKNOWN_PAYOUT, f"no payout {PID}; nothing changed")


def test_a_recovered_line_settles_a_raised_clawback_once_for_its_amount() -> None:
    paid = {"paid_reference": "BANK-1"}
    assert judge(RECOVERED_LINE, _standing(Stage.PAID, **paid))[0] is LineOutcome.NO_CLAWBACK
    assert judge(RECOVERED_LINE, _standing(Stage.PAID, clawback_cny=100_000, **paid)) == (
        LineOutcome.SETTLED,
        "clawback of 100000 CNY settled",
    )
    assert judge(RECOVERED_LINE, _standing(Stage.PAID, clawback_cny=50_000, **paid))[0] is LineOutcome.AMOUNT_MISMATCH
    assert judge(RECOVERED_LINE, _standing(Stage.PAID, clawback_cny=100_000, settled_reference="BANK-9", **paid)) == (
        LineOutcome.ALREADY_SETTLED,
        "the clawback was settled before (reference BANK-9); nothing changed",
    )


@given(st.lists(st.sampled_from(["approve", "batch", "release", "pay", "reverse", "recover"]), max_size=20))
def test_whatever_happens_in_whatever_order_net_is_never_negative(steps: list[str]) -> None:
    """A model of one payout driven only by the rules above: paid at most once, recovered
    at most once and only after a clawback, so paid - recovered stays 0 or its amount."""
    stage, released, paid_ref, clawback, settled = Stage.OWED, False, None, None, None
    paid = recovered = 0
    for step in steps:
        standing = Standing(stage, 100_000, released, paid_ref, clawback, settled)
        if step == "approve" and approve(stage) is ApprovalOutcome.APPROVED:
            stage = Stage.APPROVED
        elif step == "batch" and stage is Stage.APPROVED:
            stage = Stage.BATCHED
        elif step == "release" and stage is Stage.BATCHED:
            released = True
        elif step == "pay" and judge(PAID_LINE, standing)[0] is LineOutcome.PAID:
            stage, paid_ref, paid = Stage.PAID, "BANK-1", paid + 100_000
        elif step == "reverse":
            effect = on_reversal(stage)
            if effect is OnReversal.CANCEL:
                stage = Stage.CANCELLED
            elif effect is OnReversal.CLAWBACK and clawback is None:
                clawback = 100_000
            elif stage is Stage.OWED:
                stage = Stage.REVERSED
        elif step == "recover" and judge(RECOVERED_LINE, standing)[0] is LineOutcome.SETTLED:
            settled, recovered = "BANK-9", recovered + 100_000
        assert net_position(paid, recovered) in (0, 100_000)
        assert paid <= 100_000 and recovered <= paid
