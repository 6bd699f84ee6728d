"""The platform's own events as their consumers read them: each record decoded once into
a typed, slotted value. Records on the canonical and award topics were validated when
they were written, so they are read, not validated again (that is what keeps the hot
path fast); a record that does not fit raises, and the consumer's bounded retries send
it to its DLQ.

Every event ever written must still read: a field added after the first events were
written has the default those events meant (funding 650000, no top-up, no clawback id,
no founders), and fields a consumer does not use are not read. Unknown event types read
as None: a consumer skips what is not its concern.
"""

import types
import typing
import uuid
from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass, fields
from datetime import date
from typing import Any, TypeVar

import orjson


@dataclass(frozen=True, slots=True)
class Event:
    event_id: uuid.UUID


# --- registration's canonical events ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnterpriseRegistered(Event):
    uscc: str
    name: str
    division_code: str
    registered_on: date
    employees: int
    college_student_founders: int = 0


@dataclass(frozen=True, slots=True)
class EmploymentReported(Event):
    uscc: str
    employees: int
    reported_on: date


@dataclass(frozen=True, slots=True)
class EnterpriseAdmitted(Event):
    """With the incubator's operator, level and division as registration knew them."""

    uscc: str
    incubator_id: str
    admitted_on: date
    operator_uscc: str | None = None
    operator_name: str | None = None
    level: str | None = None
    division_code: str | None = None


@dataclass(frozen=True, slots=True)
class EnterpriseGraduated(Event):
    uscc: str
    incubator_id: str
    graduated_on: date
    operator_uscc: str | None = None
    operator_name: str | None = None
    level: str | None = None
    division_code: str | None = None


@dataclass(frozen=True, slots=True)
class HighTechCertified(Event):
    uscc: str
    certified_on: date
    certificate_no: str = ""


@dataclass(frozen=True, slots=True)
class ListedOnBoard(Event):
    uscc: str
    board: str  # XJEE or NEEQ
    listed_on: date
    security_code: str = ""


@dataclass(frozen=True, slots=True)
class BoardTransferred(Event):
    uscc: str
    transferred_on: date
    from_board: str = "XJEE"
    to_board: str = "NEEQ"
    security_code: str = ""


@dataclass(frozen=True, slots=True)
class IncubatorRegistered(Event):
    incubator_id: str
    level: str
    division_code: str
    recognized_on: date


@dataclass(frozen=True, slots=True)
class ServicePlatformRegistered(Event):
    platform_id: str
    level: str
    division_code: str
    recognized_on: date


# --- awards' events ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PayoutIssued(Event):
    payout_id: uuid.UUID
    enterprise_uscc: str
    rule: str
    recipient_role: str
    amount_cny: int
    basis_date: date
    funding: str = "650000"  # whose budget pays; written before policy versions: the region's
    top_up_of: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class PayoutReversed(Event):
    payout_id: uuid.UUID
    enterprise_uscc: str
    rule: str
    recipient_role: str
    amount_cny: int


@dataclass(frozen=True, slots=True)
class PayoutApproved(Event):
    payout_id: uuid.UUID
    enterprise_uscc: str
    amount_cny: int
    approved_on: date


@dataclass(frozen=True, slots=True)
class PayoutCancelled(Event):
    payout_id: uuid.UUID
    enterprise_uscc: str
    amount_cny: int
    cancelled_on: date


@dataclass(frozen=True, slots=True)
class PayoutPaid(Event):
    payout_id: uuid.UUID
    enterprise_uscc: str
    amount_cny: int
    paid_on: date


@dataclass(frozen=True, slots=True)
class ClawbackRaised(Event):
    payout_id: uuid.UUID
    enterprise_uscc: str
    amount_cny: int
    raised_on: date
    clawback_id: str = ""  # written before clawbacks were keyed by cause: none


@dataclass(frozen=True, slots=True)
class ClawbackSettled(Event):
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

# Per type: (field, its converter from JSON or None, its default or MISSING), built once.
_Plan = tuple[tuple[str, Callable[[Any], Any] | None, Any], ...]
_CONVERT: dict[Any, Callable[[Any], Any]] = {date: date.fromisoformat, uuid.UUID: uuid.UUID}


def _converter(annotation: Any) -> Callable[[Any], Any] | None:
    if isinstance(annotation, types.UnionType):  # X | None: X's converter, None stays None
        return next((c for a in typing.get_args(annotation) if (c := _CONVERT.get(a))), None)
    return _CONVERT.get(annotation)


def _plan(cls: type[Event]) -> _Plan:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _converter(hints[f.name]), f.default) for f in fields(cls) if f.name != "event_id")


_PLANS: dict[type[Event], _Plan] = {cls: _plan(cls) for cls in TYPES.values()}


def decode(raw: bytes) -> Event | None:
    """One record's value; None for an event type this platform's consumers do not read."""
    envelope = orjson.loads(raw)
    cls = TYPES.get(envelope["event_type"])
    if cls is None:
        return None
    data = envelope["data"]
    if not isinstance(data, dict):
        raise TypeError(f"event {envelope['event_id']}: data is not an object")
    values: dict[str, Any] = {}
    for name, convert, default in _PLANS[cls]:
        value = data.get(name, default)
        if value is MISSING:
            raise KeyError(f"event {envelope['event_id']} ({cls.__name__}): data has no {name}")
        values[name] = convert(value) if convert is not None and value is not None and value is not default else value
    return cls(uuid.UUID(envelope["event_id"]), **values)


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
