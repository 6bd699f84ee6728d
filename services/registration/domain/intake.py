"""One intake message, what can be read of its sender even when it is invalid, and what
became of it. Pure."""

import contextlib
import uuid

import msgspec
import orjson

from services.registration.domain.validation import Rejection
from shared.contract.enums import IntakeStatus

HTTP_TOPIC = "http:/v1/events"


# Structs (their __init__ is C), not dataclasses: each is built once or more per message.
class Incoming(msgspec.Struct, frozen=True, gc=False):
    """One intake message as it arrived, from Kafka or HTTP."""

    raw: bytes
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    topic: str = HTTP_TOPIC
    partition: int = -1
    offset: int = -1
    sender: str | None = None  # the authenticated sender (HTTP sign-in); None: the development intake topic
    untrusted: str | None = None  # why the topic it came on is trusted by no one (it is refused)
    trace: tuple[tuple[str, bytes], ...] = ()  # what the messages made from it carry (its trace headers)

    @property
    def via_http(self) -> bool:
        return self.topic == HTTP_TOPIC


class Identity(msgspec.Struct, frozen=True, gc=False):
    event_id: uuid.UUID | None
    source: str | None
    event_type: str | None


class Outcome(msgspec.Struct, frozen=True, gc=False):
    status: IntakeStatus
    event_id: uuid.UUID | None = None
    rejection: Rejection | None = None
    reason: str | None = None  # why it is parked


def identity_of(raw: bytes) -> Identity:
    """What can be read of a message's envelope even when it is invalid."""
    try:
        d = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return Identity(None, None, None)
    if not isinstance(d, dict):
        return Identity(None, None, None)
    event_id = None
    if isinstance(raw_id := d.get("event_id"), str):
        with contextlib.suppress(ValueError):
            event_id = uuid.UUID(raw_id)
    source, event_type = d.get("source"), d.get("event_type")
    return Identity(
        event_id,
        source if isinstance(source, str) else None,
        event_type if isinstance(event_type, str) else None,
    )


def describe(rejection: Rejection) -> str:
    """A rejection in one line: its message, then each field's error."""
    details = "; ".join(f"{e.loc}: {e.msg}" for e in rejection.errors)
    return f"{rejection.message} ({details})" if details else rejection.message
