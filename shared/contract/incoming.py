"""The platform's own events as their consumers read them: each record decoded once into
a typed, frozen msgspec struct. Records on the canonical and award topics were validated
by the contract's pydantic models when they were written, so here they are only read into
their types (msgspec: a third of the time the hand-written reader took); a record that
does not fit raises, and the consumer's bounded retries send it to its DLQ.

Every event ever written must still read: a field added after the first events were
written has the default those events meant (funding 650000, no top-up, no clawback id,
no founders), and fields a consumer does not use are not read. Unknown event types read
as None: a consumer skips what is not its concern.
"""

import uuid
from collections.abc import Iterable
from datetime import date
from typing import TypeVar

import msgspec
import orjson


# gc=False: an event holds only strings, dates, numbers and UUIDs, never a cycle, so the
# collector need not track the ~10^4 of them a batch keeps alive.
class Event(msgspec.Struct, frozen=True, gc=False):  # subclasses inherit both; mypy wants frozen said
    event_id: uuid.UUID


# --- registration's canonical events ---------------------------------------------------


class EnterpriseRegistered(Event, frozen=True):
    uscc: str
    name: str
    division_code: str
    registered_on: date
    employees: int
    college_student_founders: int = 0


class EmploymentReported(Event, frozen=True):
    uscc: str
    employees: int
    reported_on: date


class EnterpriseAdmitted(Event, frozen=True):
    """With the incubator's operator, level and division as registration knew them."""

    uscc: str
    incubator_id: str
    admitted_on: date
    operator_uscc: str | None = None
    operator_name: str | None = None
    level: str | None = None
    division_code: str | None = None


class EnterpriseGraduated(Event, frozen=True):
    uscc: str
    incubator_id: str
    graduated_on: date
    operator_uscc: str | None = None
    operator_name: str | None = None
    level: str | None = None
    division_code: str | None = None


class HighTechCertified(Event, frozen=True):
    uscc: str
    certified_on: date
    certificate_no: str = ""


class ListedOnBoard(Event, frozen=True):
    uscc: str
    board: str  # XJEE or NEEQ
    listed_on: date
    security_code: str = ""


class BoardTransferred(Event, frozen=True):
    uscc: str
    transferred_on: date
    from_board: str = "XJEE"
    to_board: str = "NEEQ"
    security_code: str = ""


class IncubatorRegistered(Event, frozen=True):
    incubator_id: str
    level: str
    division_code: str
    recognized_on: date


class ServicePlatformRegistered(Event, frozen=True):
    platform_id: str
    level: str
    division_code: str
    recognized_on: date


# --- awards' events ---------------------------------------------------------------------


class PayoutIssued(Event, frozen=True):
    payout_id: uuid.UUID
    enterprise_uscc: str
    rule: str
    recipient_role: str
    amount_cny: int
    basis_date: date
    funding: str = "650000"  # whose budget pays; written before policy versions: the region's
    top_up_of: uuid.UUID | None = None


class PayoutReversed(Event, frozen=True):
    payout_id: uuid.UUID
    enterprise_uscc: str
    rule: str
    recipient_role: str
    amount_cny: int


class PayoutApproved(Event, frozen=True):
    payout_id: uuid.UUID
    enterprise_uscc: str
    amount_cny: int
    approved_on: date


class PayoutCancelled(Event, frozen=True):
    payout_id: uuid.UUID
    enterprise_uscc: str
    amount_cny: int
    cancelled_on: date


class PayoutPaid(Event, frozen=True):
    payout_id: uuid.UUID
    enterprise_uscc: str
    amount_cny: int
    paid_on: date


class ClawbackRaised(Event, frozen=True):
    payout_id: uuid.UUID
    enterprise_uscc: str
    amount_cny: int
    raised_on: date
    clawback_id: str = ""  # written before clawbacks were keyed by cause: none


class ClawbackSettled(Event, frozen=True):
    payout_id: uuid.UUID
    enterprise_uscc: str
    amount_cny: int
    settled_on: date


TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        EnterpriseRegistered,
        EmploymentReported,
        EnterpriseAdmitted,
        EnterpriseGraduated,
        HighTechCertified,
        ListedOnBoard,
        BoardTransferred,
        IncubatorRegistered,
        ServicePlatformRegistered,
        PayoutIssued,
        PayoutReversed,
        PayoutApproved,
        PayoutCancelled,
        PayoutPaid,
        ClawbackRaised,
        ClawbackSettled,
    )
}


def decode(raw: bytes) -> Event | None:
    """One record's value; None for an event type this platform's consumers do not read."""
    envelope = orjson.loads(raw)
    cls = TYPES.get(envelope["event_type"])
    if cls is None:
        return None
    data = envelope["data"]
    if not isinstance(data, dict):
        raise TypeError(f"event {envelope['event_id']}: data is not an object")
    data["event_id"] = envelope["event_id"]
    try:
        return msgspec.convert(data, cls)  # text to dates and UUIDs; fields not declared are not read
    except msgspec.ValidationError as exc:
        raise ValueError(f"event {envelope['event_id']} ({cls.__name__}): {exc}") from exc


E = TypeVar("E", bound=Event)


def unique_events(events: Iterable[E]) -> list[E]:
    """Each event once: a batch can hold a redelivery (the first copy wins)."""
    seen: set[uuid.UUID] = set()
    out = []
    for e in events:
        if e.event_id not in seen:
            seen.add(e.event_id)
            out.append(e)
    return out
