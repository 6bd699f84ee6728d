"""Typed incoming events read every event as its producer writes it today and as older
producers wrote it (fields added later take the default those events meant), ignore
fields they do not use, skip types nobody consumes, and refuse a record that lacks a
field every version wrote."""

import gc
import uuid
from datetime import UTC, date, datetime

import orjson
import pytest

from shared.contract import events, incoming
from shared.contract.codec import encode_envelope
from shared.contract.enums import RecipientRole, Rule

EVENT = uuid.UUID("6f1d3c52-8e0b-4f5a-9a51-2015041600aa")
PAYOUT = uuid.UUID("00000000-0000-4000-8000-00000000000a")
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def raw(event_type: str, data: dict[str, object]) -> bytes:
    return encode_envelope(event_id=EVENT, event_type=event_type, occurred_at=NOW, source="t", data=data)


def test_an_award_event_as_awards_writes_it_today() -> None:
    issued = events.PayoutIssued(
        payout_id=PAYOUT,
        rule=Rule.EQUITY_LISTING,
        recipient_role=RecipientRole.ENTERPRISE,
        recipient_uscc="91650102MA7XXXXX0X",
        recipient_name="企业",
        enterprise_uscc="91650102MA7XXXXX0X",
        incubator_id="INC-1",
        amount_cny=200_000,
        basis_event_id=uuid.UUID(int=7),
        basis_date=date(2016, 3, 1),
        funding="654000",
        policy_version=2,
        top_up_of=uuid.UUID(int=9),
    )
    decoded = incoming.decode(
        encode_envelope(event_id=EVENT, event_type="PayoutIssued", occurred_at=NOW, source="awards", data=issued)
    )
    assert decoded == incoming.PayoutIssued(
        EVENT,
        PAYOUT,
        "91650102MA7XXXXX0X",
        "EQUITY_LISTING",
        "enterprise",
        200_000,
        date(2016, 3, 1),
        "654000",
        uuid.UUID(int=9),
    )


def test_events_written_before_a_field_existed_read_with_the_default_they_meant() -> None:
    old_issue = {
        "payout_id": str(PAYOUT),
        "enterprise_uscc": "E",
        "rule": "HIGH_TECH_CERTIFICATION",
        "recipient_role": "operator",
        "amount_cny": 100_000,
        "basis_date": "2015-09-01",
    }
    assert incoming.decode(raw("PayoutIssued", old_issue)) == incoming.PayoutIssued(
        EVENT, PAYOUT, "E", "HIGH_TECH_CERTIFICATION", "operator", 100_000, date(2015, 9, 1), "650000", None
    )
    old_claw = {"payout_id": str(PAYOUT), "enterprise_uscc": "E", "amount_cny": 5, "raised_on": "2016-01-02"}
    assert incoming.decode(raw("ClawbackRaised", old_claw)) == incoming.ClawbackRaised(
        EVENT, PAYOUT, "E", 5, date(2016, 1, 2), ""
    )
    registered = {"uscc": "U", "name": "n", "division_code": "650102", "registered_on": "2015-04-01", "employees": 3}
    assert incoming.decode(
        raw("EnterpriseRegistered", registered | {"size": "micro"})
    ) == incoming.EnterpriseRegistered(EVENT, "U", "n", "650102", date(2015, 4, 1), 3, 0)


def test_a_canonical_admission_carries_its_incubator_and_an_intake_one_reads_without() -> None:
    canonical = {
        "uscc": "U",
        "incubator_id": "I",
        "admitted_on": "2015-05-01",
        "operator_uscc": "O",
        "operator_name": "运营方",
    }
    assert incoming.decode(raw("EnterpriseAdmitted", canonical | {"level": "county", "division_code": "650102"})) == (
        incoming.EnterpriseAdmitted(EVENT, "U", "I", date(2015, 5, 1), "O", "运营方", "county", "650102")
    )
    intake = {"uscc": "U", "incubator_id": "I", "admitted_on": "2015-05-01"}
    assert incoming.decode(raw("EnterpriseAdmitted", intake)) == incoming.EnterpriseAdmitted(
        EVENT, "U", "I", date(2015, 5, 1)
    )


def test_a_type_nobody_consumes_is_skipped_and_a_record_that_does_not_fit_is_refused() -> None:
    assert incoming.decode(raw("AwardDeclined", {"rule": "EQUITY_LISTING"})) is None
    paid = {"payout_id": str(PAYOUT), "enterprise_uscc": "E", "amount_cny": 1}
    with pytest.raises(ValueError, match=r"\(PayoutPaid\): Object missing required field `paid_on`$"):
        incoming.decode(raw("PayoutPaid", paid))
    with pytest.raises(ValueError, match=r"\(PayoutPaid\): Expected `int`, got `str` - at `\$.amount_cny`$"):
        incoming.decode(raw("PayoutPaid", paid | {"amount_cny": "1", "paid_on": "2016-01-02"}))
    with pytest.raises(ValueError, match=r"\(PayoutPaid\): Invalid RFC3339 encoded date - at `\$.paid_on`$"):
        incoming.decode(raw("PayoutPaid", paid | {"paid_on": "2016-02-30"}))
    with pytest.raises(TypeError, match="data is not an object"):
        incoming.decode(orjson.dumps({"event_id": str(EVENT), "event_type": "PayoutPaid", "data": [1]}))


def test_decoded_events_are_frozen_and_left_to_reference_counting() -> None:
    event = incoming.HighTechCertified(EVENT, "U", date(2016, 1, 1), "GR1")
    with pytest.raises(AttributeError):
        event.uscc = "V"  # type: ignore[misc]
    assert gc.is_tracked(event) is False  # no cycles in an event: the collector skips them


def test_a_redelivered_event_is_folded_once() -> None:
    first = incoming.HighTechCertified(EVENT, "U", date(2016, 1, 1), "GR1")
    again = incoming.HighTechCertified(EVENT, "U", date(2016, 1, 1), "GR1")
    other = incoming.HighTechCertified(uuid.UUID(int=1), "U", date(2016, 1, 2), "GR2")
    assert incoming.unique_events([first, again, other]) == [first, other]
