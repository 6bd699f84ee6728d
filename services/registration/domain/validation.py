"""Intake validation (docs/contract/events.md#validation-at-registration) that needs
nothing but the message and today's date.

Pure: bytes in, a `ValidFact` or a `Rejection` out. Reference checks, which need the
registry, are in `references.py`.
"""

import hashlib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import msgspec
import orjson
from pydantic import ValidationError
from stdnum.cn import uscc as uscc_check
from stdnum.exceptions import ValidationError as UsccError

from shared.contract.divisions import is_valid_on
from shared.contract.enums import IntakeError
from shared.contract.events import INTAKE_MODELS, Data, Envelope
from shared.contract.spreadsheet_safe import FORMULA_STARTS


@dataclass(frozen=True, slots=True)
class FieldError:
    loc: str
    msg: str


@dataclass(frozen=True, slots=True)
class Rejection:
    code: IntakeError
    message: str
    errors: tuple[FieldError, ...] = ()


class ValidFact(msgspec.Struct, frozen=True, gc=False):  # one per valid message: a C __init__
    envelope: Envelope
    data: Data
    content_hash: bytes

    @property
    def event_type(self) -> str:
        return self.envelope.event_type


USCC_FIELDS = ("uscc", "operator_uscc")
NAME_FIELDS = ("name", "operator_name")
# What makes Excel or LibreOffice read a cell as a formula (a tab or a carriage return
# too). No Chinese enterprise or incubator name begins with one, so such a name is refused
# rather than stored.
DIVISION_DATE_FIELD = {
    "IncubatorRegistered": "recognized_on",
    "ServicePlatformRegistered": "recognized_on",
    "EnterpriseRegistered": "registered_on",
}


def _errors(exc: ValidationError, prefix: str) -> tuple[FieldError, ...]:
    return tuple(
        FieldError(loc=".".join([prefix, *(str(p) for p in e["loc"])]).strip("."), msg=e["msg"])
        for e in exc.errors(include_url=False)
    )


def content_hash(document: dict[str, Any]) -> bytes:
    """Same content, same hash, whatever the key order or white space of the bytes."""
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).digest()


def validate(raw: bytes, *, max_bytes: int, today: date) -> ValidFact | Rejection:
    if len(raw) > max_bytes:
        return Rejection(IntakeError.TOO_LARGE, f"message of {len(raw)} bytes exceeds the limit of {max_bytes}")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejection(IntakeError.MALFORMED_JSON, f"not valid JSON: {exc}")
    if not isinstance(document, dict):
        return Rejection(IntakeError.INVALID_ENVELOPE, "the envelope must be a JSON object")
    try:
        envelope = Envelope.model_validate(document)
    except ValidationError as exc:
        errors = _errors(exc, "")
        return Rejection(IntakeError.INVALID_ENVELOPE, "the envelope is invalid", errors)
    model = INTAKE_MODELS.get(envelope.event_type)
    if model is None:
        return Rejection(
            IntakeError.UNKNOWN_EVENT_TYPE,
            f"unknown event_type {envelope.event_type!r}; expected one of {', '.join(sorted(INTAKE_MODELS))}",
            (FieldError("event_type", "unknown event type"),),
        )
    try:
        # JSON mode keeps strictness (no "12" -> 12, no true -> 1) yet reads enums and dates from text.
        data = model.model_validate_json(orjson.dumps(envelope.data), strict=True)
    except ValidationError as exc:
        return Rejection(IntakeError.INVALID_DATA, f"{envelope.event_type} data is invalid", _errors(exc, "data"))
    return _check_values(envelope, data, today) or ValidFact(envelope, data, content_hash(document))


def _check_values(envelope: Envelope, data: Data, today: date) -> Rejection | None:
    """The first value the schema admits but the register does not, in this order."""
    fields: dict[str, Any] = data.__dict__  # the validated fields by name, in the model's order; read only
    return (
        _bad_uscc(fields)
        or _formula_like_name(fields)
        or _future_date(fields, today)
        or _bad_transfer(envelope.event_type, fields)
        or _bad_division(envelope.event_type, fields)
    )


def _bad_uscc(fields: dict[str, Any]) -> Rejection | None:
    for name in USCC_FIELDS:
        value = fields.get(name)
        if value is not None and not _uscc_ok(value):
            return Rejection(
                IntakeError.INVALID_USCC,
                f"{name} {value!r} is not a valid unified social credit code (GB 32100-2015)",
                (FieldError(f"data.{name}", "invalid USCC check character or alphabet"),),
            )
    return None


def _formula_like_name(fields: dict[str, Any]) -> Rejection | None:
    for name in NAME_FIELDS:
        value = fields.get(name)
        if isinstance(value, str) and value.startswith(FORMULA_STARTS):
            return Rejection(
                IntakeError.FORMULA_LIKE_NAME,
                f"{name} {value[:40]!r} begins with {value[0]!r}, which a spreadsheet runs as a formula",
                (FieldError(f"data.{name}", "must not begin with =, +, -, @, a tab or a carriage return"),),
            )
    return None


def _future_date(fields: dict[str, Any], today: date) -> Rejection | None:
    for name, value in fields.items():
        if isinstance(value, date) and value > today:
            return Rejection(
                IntakeError.INCONSISTENT_DATES,
                f"{name} {value.isoformat()} is after today ({today.isoformat()})",
                (FieldError(f"data.{name}", "date is in the future"),),
            )
    return None


def _bad_transfer(event_type: str, fields: dict[str, Any]) -> Rejection | None:
    if event_type == "BoardTransferred" and (fields["from_board"], fields["to_board"]) != ("XJEE", "NEEQ"):
        return Rejection(
            IntakeError.INVALID_DATA,
            "a board transfer goes from XJEE to NEEQ",
            (FieldError("data.from_board", "must be XJEE, with to_board NEEQ"),),
        )
    return None


def _bad_division(event_type: str, fields: dict[str, Any]) -> Rejection | None:
    date_field = DIVISION_DATE_FIELD.get(event_type)
    if date_field is None:
        return None
    code, on = fields["division_code"], fields[date_field]
    if is_valid_on(code, on):
        return None
    return Rejection(
        IntakeError.INVALID_DIVISION,
        f"division_code {code} is not a Xinjiang GB/T 2260 code in force on {on.isoformat()}",
        (FieldError("data.division_code", f"not in force in Xinjiang on {on.isoformat()}"),),
    )


@lru_cache(maxsize=200_000)  # the same codes recur in every fact about an enterprise
def _uscc_ok(value: str) -> bool:
    # stdnum reads lower case, full-width digits and dashes by normalising them first; the
    # registry keys on the exact string, so only the code's own form is taken: a second
    # spelling of one code would be a second enterprise, with awards of its own.
    if not (value.isascii() and value.isalnum() and value == value.upper()):
        return False
    try:
        uscc_check.validate(value)
    except UsccError:
        return False
    return True
