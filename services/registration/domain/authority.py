"""Who may say what. Pure.

A sender is an upstream system, named by its sign-in. The sender registry says which
event types each may send and, where a fact concerns a carrier, for which carriers: the
market regulator registers enterprises, the science department certifies High-Tech, the
exchanges list and transfer, an incubator admits and graduates — at its own incubator
only. A fact outside its sender's authority is rejected, never applied.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from services.registration.domain.validation import FieldError, Rejection, ValidFact
from shared.contract.enums import IntakeError

# The field that names the carrier a fact concerns.
CARRIER_FIELD = {
    "EnterpriseAdmitted": "incubator_id",
    "EnterpriseGraduated": "incubator_id",
    "IncubatorRegistered": "incubator_id",
    "ServicePlatformRegistered": "platform_id",
}


@dataclass(frozen=True, slots=True)
class Authority:
    event_types: frozenset[str]
    carriers: frozenset[str] | None = None  # None: any carrier


def authorise(sender: str, registry: Mapping[str, Authority], fact: ValidFact) -> Rejection | None:
    """Why `sender` may not have sent `fact`, or None."""
    source = fact.envelope.source
    if source != sender:
        return Rejection(
            IntakeError.SOURCE_MISMATCH,
            f"the envelope says source {source!r}, but it was sent by {sender!r}",
            (FieldError("source", f"must be {sender!r}, the authenticated sender"),),
        )
    authority = registry.get(sender)
    if authority is None:
        return Rejection(IntakeError.NOT_AUTHORIZED, f"sender {sender!r} is not in the sender registry")
    if fact.event_type not in authority.event_types:
        allowed = ", ".join(sorted(authority.event_types)) or "nothing"
        return Rejection(
            IntakeError.NOT_AUTHORIZED,
            f"sender {sender!r} may not send {fact.event_type}; it may send {allowed}",
            (FieldError("event_type", "not among the sender's event types"),),
        )
    field = CARRIER_FIELD.get(fact.event_type)
    if field is not None and authority.carriers is not None:
        carrier = str(getattr(fact.data, field))
        if carrier not in authority.carriers:
            return Rejection(
                IntakeError.NOT_AUTHORIZED,
                f"sender {sender!r} may send {fact.event_type} only for {', '.join(sorted(authority.carriers))}, "
                f"not for {carrier}",
                (FieldError(f"data.{field}", "not one of the sender's carriers"),),
            )
    return None
