"""Plain values the award rules read: everything known about one enterprise."""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.contract.enums import Board


@dataclass(frozen=True, slots=True)
class Admission:
    event_id: uuid.UUID
    incubator_id: str
    admitted_on: date
    operator_uscc: str
    operator_name: str


@dataclass(frozen=True, slots=True)
class Graduation:
    event_id: uuid.UUID
    incubator_id: str
    graduated_on: date


@dataclass(frozen=True, slots=True)
class Certification:
    event_id: uuid.UUID
    certified_on: date


@dataclass(frozen=True, slots=True)
class Listing:
    event_id: uuid.UUID
    board: Board
    listed_on: date


@dataclass(frozen=True, slots=True)
class Transfer:
    event_id: uuid.UUID
    transferred_on: date


@dataclass(frozen=True, slots=True)
class EnterpriseFacts:
    uscc: str
    name: str = ""
    admissions: frozenset[Admission] = field(default_factory=frozenset)
    graduations: frozenset[Graduation] = field(default_factory=frozenset)
    certifications: frozenset[Certification] = field(default_factory=frozenset)
    listings: frozenset[Listing] = field(default_factory=frozenset)
    transfers: frozenset[Transfer] = field(default_factory=frozenset)
    # Where it is registered, rolled up to its prefecture (shared/contract/divisions.py); None
    # until its registration arrives. Chooses the prefecture's plan that adds to its awards.
    prefecture: str | None = None


def assemble(
    uscc: str, name: str, by_type: Mapping[str, Iterable[Any]], prefecture: str | None = None
) -> EnterpriseFacts:
    """One enterprise's facts from its fact objects grouped by canonical event type."""
    return EnterpriseFacts(
        uscc=uscc,
        name=name,
        prefecture=prefecture,
        admissions=frozenset(by_type.get("EnterpriseAdmitted", ())),
        graduations=frozenset(by_type.get("EnterpriseGraduated", ())),
        certifications=frozenset(by_type.get("HighTechCertified", ())),
        listings=frozenset(by_type.get("ListedOnBoard", ())),
        transfers=frozenset(by_type.get("BoardTransferred", ())),
    )
