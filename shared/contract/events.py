"""The event contract (docs/contract/events.md): envelope, intake, canonical and award events.

Models are frozen and strict about types (no "5" -> 5 coercion, no unknown fields), so
a malformed fact is rejected at the edge with a field-level error instead of
being silently reshaped.
"""

import hashlib
import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
)

from shared.contract.enums import Board, IntakeError, IntakeStatus, Level, RecipientRole, Rule, Size

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _iso_date(value: Any) -> Any:
    # Only the literal ISO form is a date here: no timestamps, no "2015-5-4".
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return date.fromisoformat(value)  # raises for 2015-02-30


def _no_control_chars(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Name = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_no_control_chars)]
Code = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_no_control_chars)]
Uscc = Annotated[str, Field(min_length=18, max_length=18)]
DivisionCode = Annotated[str, Field(pattern=r"^\d{6}$")]
Count = Annotated[StrictInt, Field(ge=0, le=10_000_000)]
Cny = Annotated[StrictInt, Field(ge=0, le=10_000_000_000)]


class Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


def _iso_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time text with a UTC offset")
    return value


class Envelope(BaseModel):
    """The envelope (docs/contract/events.md#envelope). `data` is validated separately
    against the model of `event_type`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    event_type: Annotated[str, Field(min_length=1, max_length=64)]
    schema_version: Annotated[StrictInt, Field(ge=1, le=1)]
    # Text only: lax mode would read a number as seconds since 1970.
    occurred_at: Annotated[AwareDatetime, BeforeValidator(_iso_text)]
    source: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_control_chars)]
    data: dict[str, Any]


# --- intake events (docs/contract/events.md) -----------------------------------------------------


class IncubatorRegistered(Data):
    incubator_id: Code
    name: Name
    operator_uscc: Uscc
    operator_name: Name
    level: Level
    division_code: DivisionCode
    recognized_on: IsoDate


class ServicePlatformRegistered(Data):
    platform_id: Code
    name: Name
    operator_uscc: Uscc
    operator_name: Name
    level: Level
    division_code: DivisionCode
    recognized_on: IsoDate


class EnterpriseRegistered(Data):
    uscc: Uscc
    name: Name
    division_code: DivisionCode
    registered_on: IsoDate
    size: Size
    employees: Count
    college_student_founders: Count = 0


class EnterpriseAdmitted(Data):
    uscc: Uscc
    incubator_id: Code
    admitted_on: IsoDate


class EnterpriseGraduated(Data):
    uscc: Uscc
    incubator_id: Code
    graduated_on: IsoDate


class HighTechCertified(Data):
    uscc: Uscc
    certificate_no: Code
    certified_on: IsoDate


class ListedOnBoard(Data):
    uscc: Uscc
    board: Board
    security_code: Code
    listed_on: IsoDate


class BoardTransferred(Data):
    uscc: Uscc
    from_board: Board
    to_board: Board
    security_code: Code
    transferred_on: IsoDate


class EmploymentReported(Data):
    uscc: Uscc
    employees: Count
    reported_on: IsoDate


# --- canonical additions (event-carried state) ---------------


class IncubatorState(Data):
    operator_uscc: Uscc
    operator_name: Name
    level: Level
    division_code: DivisionCode


class CanonicalEnterpriseAdmitted(EnterpriseAdmitted, IncubatorState):
    pass


class CanonicalEnterpriseGraduated(EnterpriseGraduated, IncubatorState):
    pass


# --- award events (docs/contract/events.md) ------------------------------------------------------


class _PayoutAct(Data):
    """What every event about one payout says of it (PayoutIssued also names the recipient)."""

    payout_id: uuid.UUID
    rule: Rule
    recipient_role: RecipientRole
    recipient_uscc: Uscc
    enterprise_uscc: Uscc
    amount_cny: Cny


class PayoutIssued(Data):
    payout_id: uuid.UUID
    rule: Rule
    recipient_role: RecipientRole
    recipient_uscc: Uscc
    recipient_name: str
    enterprise_uscc: Uscc
    incubator_id: str
    amount_cny: Cny
    basis_event_id: uuid.UUID
    basis_date: IsoDate
    # Absent in events written before policy versions: read as the region's, version 1.
    funding: str = Field(
        default="650000", pattern=r"^65\d{2}00$", description="whose budget pays: 650000 or a prefecture"
    )
    policy_version: int = Field(default=1, ge=1, description="the policy version that rates it")
    top_up_of: uuid.UUID | None = Field(
        default=None, description="a top-up: the payout whose award a version reaching back raised by amount_cny"
    )


class PayoutReversed(_PayoutAct):
    reason_code: str
    explanation: str
    basis_event_id: uuid.UUID


class AwardDeclined(Data):
    rule: Rule
    enterprise_uscc: Uscc
    reason_code: str
    explanation: str
    basis_event_id: uuid.UUID


# --- disbursement (awards): from owed to paid, and clawbacks -----------------------------


class PayoutApproved(_PayoutAct):
    approved_by: str  # the approver's token subject
    approved_on: IsoDate


class PayoutPaid(_PayoutAct):
    batch_id: uuid.UUID
    paid_on: IsoDate  # the value date of the treasury's confirmation
    reference: str


class ClawbackRaised(_PayoutAct):
    """The recipient owes money back: a paid payout was reversed, or the bank paid it a
    second time. `amount_cny` is what is owed; `clawback_id` names the cause
    (`reversal:<payout>` or `overpayment:<payout>:<bank reference>`)."""

    reason_code: str
    raised_on: IsoDate
    clawback_id: str = ""  # empty on events written before clawbacks were keyed by cause


class ClawbackSettled(Data):
    payout_id: uuid.UUID
    recipient_uscc: Uscc
    enterprise_uscc: Uscc
    amount_cny: Cny
    settled_on: IsoDate
    reference: str
    clawback_id: str = ""


class PayoutCancelled(_PayoutAct):
    """A payout that will not be paid: reversed before its file left, or returned by the
    bank after a recall. Reporting counts it on `cancelled_on`."""

    reason_code: str
    cancelled_on: IsoDate
    returned_reference: str | None = None  # the bank's, when it stopped the payment


class PayoutRecallRequested(_PayoutAct):
    """A payout reversed after its batch was released: the office asks the treasury to
    stop it. The bank's answer (returned, or paid) ends it."""

    reason_code: str
    batch_id: uuid.UUID
    requested_on: IsoDate


# --- for the systems around the platform ------------------------------------------------


class FieldErrorModel(Data):
    loc: str
    msg: str


class IntakeResult(Data):
    """registration.intake.results.v1, key `{source}/{event_id}` of the intake event (the
    Kafka key it arrived with when its envelope was unreadable). One per intake message,
    plus one more when a parked fact is released or expires."""

    intake_event_id: uuid.UUID | None
    intake_source: str | None
    intake_event_type: str | None
    status: IntakeStatus
    error_code: IntakeError | None = None
    message: str | None = None  # the rejection's message, or why the fact is parked
    errors: list[FieldErrorModel] = []
    received_via: Literal["kafka", "http"]
    source_topic: str
    source_partition: int
    source_offset: int
    # The fact's trace (W3C trace id): the sender's, continued, or one begun at intake;
    # null when tracing is off and the fact came without one.
    trace_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")


class ProgressChanged(Data):
    """reporting.progress.v1 (compacted), key `{year}/{metric}/{division}`: one progress row
    of /v1/progress as of `as_of`; published when its actual or target changes."""

    year: int
    metric: str
    label_zh: str
    division: DivisionCode  # 650000: the whole region (the only row with a target)
    actual: int
    target: int | None
    ratio: float | None
    period_from: IsoDate
    period_to: IsoDate
    as_of: IsoDate


INTAKE_MODELS: Final[dict[str, type[Data]]] = {
    m.__name__: m
    for m in (
        IncubatorRegistered,
        ServicePlatformRegistered,
        EnterpriseRegistered,
        EnterpriseAdmitted,
        EnterpriseGraduated,
        HighTechCertified,
        ListedOnBoard,
        BoardTransferred,
        EmploymentReported,
    )
}

CANONICAL_MODELS: Final[dict[str, type[Data]]] = {
    **INTAKE_MODELS,
    "EnterpriseAdmitted": CanonicalEnterpriseAdmitted,
    "EnterpriseGraduated": CanonicalEnterpriseGraduated,
}


class PolicyDocumentRef(Data):
    issuer: Name
    title: Name
    issued_on: IsoDate
    number: str | None = Field(default=None, max_length=200)
    link: str | None = Field(default=None, max_length=2000)


class PolicyVersionAdopted(Data):
    """A second person adopted a policy version (docs/contract/policy.md); key = its
    jurisdiction's code. A person's act: `redo` lists one the books lack after a restore."""

    version_id: int = Field(ge=1)
    jurisdiction: str = Field(pattern=r"^65\d{2}00$")
    effective_from: IsoDate
    amounts_cny: dict[str, dict[str, int]]
    window_years: dict[str, int]
    allows_recovery: bool
    document: PolicyDocumentRef
    drafted_by: str
    adopted_by: str
    adopted_on: IsoDate


AWARD_MODELS: Final[dict[str, type[Data]]] = {
    m.__name__: m
    for m in (
        PayoutIssued,
        PayoutReversed,
        AwardDeclined,
        PayoutApproved,
        PayoutPaid,
        ClawbackRaised,
        ClawbackSettled,
        PayoutCancelled,
        PayoutRecallRequested,
        PolicyVersionAdopted,
    )
}

CARRIER_EVENT_TYPES: Final = frozenset({"IncubatorRegistered", "ServicePlatformRegistered"})


def aggregate_id(event_type: str, data: BaseModel) -> str:
    """The Kafka key (docs/contract/topics.md): the enterprise USCC or the carrier id."""
    field = {
        "IncubatorRegistered": "incubator_id",
        "ServicePlatformRegistered": "platform_id",
        "PolicyVersionAdopted": "jurisdiction",
    }.get(event_type, "enterprise_uscc" if event_type in AWARD_MODELS else "uscc")
    return str(getattr(data, field))


# Deterministic ids for derived events: same inputs, same id, on every replay.
DERIVED_NAMESPACE: Final = uuid.UUID("6f1d3c52-8e0b-4f5a-9a51-2015041600aa")


_NAMESPACE_BYTES: Final = DERIVED_NAMESPACE.bytes
# RFC 4122 version 5, variant 1: the bits uuid.uuid5 sets on the SHA-1 digest's first 16 bytes.
_VERSION_MASK: Final = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_5: Final = (5 << 76) | (0x8000 << 48)


def derived_id(*parts: object) -> uuid.UUID:
    """uuid.uuid5(DERIVED_NAMESPACE, "|".join(parts)), in two thirds of its time (one per
    intake result and per award message)."""
    digest = hashlib.sha1(_NAMESPACE_BYTES + "|".join(map(str, parts)).encode()).digest()
    return uuid.UUID(int=int.from_bytes(digest[:16]) & _VERSION_MASK | _VERSION_5)
