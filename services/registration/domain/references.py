"""Reference rules (docs/contract/events.md#validation-at-registration): apply a fact,
park it until its reference arrives, or reject it. Pure: the registry is seen through the `RegistryView` protocol.
"""

from datetime import date
from typing import Protocol

import msgspec

from services.registration.domain.validation import FieldError, Rejection, ValidFact
from shared.contract.enums import IntakeError
from shared.contract.events import (
    BoardTransferred,
    EmploymentReported,
    EnterpriseAdmitted,
    EnterpriseGraduated,
    EnterpriseRegistered,
    HighTechCertified,
    IncubatorRegistered,
    IncubatorState,
    ListedOnBoard,
    ServicePlatformRegistered,
)


class RegistryView(Protocol):
    def has_enterprise(self, uscc: str) -> bool: ...
    def has_incubator(self, incubator_id: str) -> bool: ...
    def has_platform(self, platform_id: str) -> bool: ...
    def incubator_state(self, incubator_id: str) -> IncubatorState | None: ...
    def open_admissions(self, uscc: str, incubator_id: str) -> list[date]: ...
    def xjee_listing_dates(self, uscc: str) -> list[date]: ...


class Apply(msgspec.Struct, frozen=True, gc=False):  # one per accepted fact: a C __init__
    """Record the fact; `incubator` carries event state for admissions and graduations."""

    incubator: IncubatorState | None = None
    admitted_on: date | None = None


class Park(msgspec.Struct, frozen=True, gc=False):
    waiting_for: str
    reason: str


Decision = Apply | Park | Rejection


def enterprise_key(uscc: str) -> str:
    return f"enterprise:{uscc}"


def incubator_key(incubator_id: str) -> str:
    return f"incubator:{incubator_id}"


def admission_key(uscc: str, incubator_id: str) -> str:
    return f"admission:{uscc}:{incubator_id}"


def xjee_key(uscc: str) -> str:
    return f"xjee:{uscc}"


def decide(fact: ValidFact, view: RegistryView) -> Decision:
    d = fact.data
    if isinstance(d, EnterpriseRegistered | IncubatorRegistered | ServicePlatformRegistered):
        return _registration(d, view)
    uscc = str(getattr(d, "uscc", ""))  # every other intake fact is about one enterprise
    if not view.has_enterprise(uscc):
        return Park(enterprise_key(uscc), f"enterprise {uscc} is not registered yet")
    if isinstance(d, EnterpriseAdmitted):
        state = view.incubator_state(d.incubator_id)
        if state is None:
            return Park(incubator_key(d.incubator_id), f"incubator {d.incubator_id} is not registered yet")
        return Apply(incubator=state)
    if isinstance(d, EnterpriseGraduated):
        return _graduation(d, view)
    if isinstance(d, BoardTransferred):
        return _transfer(d, view)
    assert isinstance(d, HighTechCertified | ListedOnBoard | EmploymentReported)
    return Apply()


def _registration(
    d: EnterpriseRegistered | IncubatorRegistered | ServicePlatformRegistered, view: RegistryView
) -> Decision:
    """A register of record takes each enterprise, incubator and platform once."""
    if isinstance(d, EnterpriseRegistered):
        known, what = view.has_enterprise(d.uscc), f"enterprise {d.uscc}"
    elif isinstance(d, IncubatorRegistered):
        known, what = view.has_incubator(d.incubator_id), f"incubator {d.incubator_id}"
    else:
        known, what = view.has_platform(d.platform_id), f"service platform {d.platform_id}"
    return Rejection(IntakeError.ALREADY_REGISTERED, f"{what} is already registered") if known else Apply()


def _graduation(d: EnterpriseGraduated, view: RegistryView) -> Decision:
    admitted = view.open_admissions(d.uscc, d.incubator_id)
    if not admitted:
        return Park(
            admission_key(d.uscc, d.incubator_id),
            f"no open admission of {d.uscc} to incubator {d.incubator_id} yet",
        )
    before = [a for a in admitted if a <= d.graduated_on]
    if not before:
        return Rejection(
            IntakeError.INCONSISTENT_DATES,
            f"graduated_on {d.graduated_on} is before admitted_on {min(admitted)}",
            (FieldError("data.graduated_on", "must not be before admitted_on"),),
        )
    return Apply(incubator=view.incubator_state(d.incubator_id), admitted_on=max(before))


def _transfer(d: BoardTransferred, view: RegistryView) -> Decision:
    listed = view.xjee_listing_dates(d.uscc)
    if not listed:
        return Park(xjee_key(d.uscc), f"no XJEE listing of {d.uscc} yet")
    if not any(on <= d.transferred_on for on in listed):
        return Rejection(
            IntakeError.INCONSISTENT_DATES,
            f"transferred_on {d.transferred_on} is before listed_on {min(listed)}",
            (FieldError("data.transferred_on", "must not be before the XJEE listed_on"),),
        )
    return Apply()


def satisfied_keys(fact: ValidFact) -> list[str]:
    """Keys of parked facts that this applied fact may release."""
    d = fact.data
    if isinstance(d, EnterpriseRegistered):
        return [enterprise_key(d.uscc)]
    if isinstance(d, IncubatorRegistered):
        return [incubator_key(d.incubator_id)]
    if isinstance(d, EnterpriseAdmitted):
        return [admission_key(d.uscc, d.incubator_id)]
    if isinstance(d, ListedOnBoard) and d.board == "XJEE":
        return [xjee_key(d.uscc)]
    return []
