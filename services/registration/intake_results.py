"""registration.intake.results.v1: what became of each intake message, for its sender.

Results go through the outbox with the batch that decided them, so a result exists
exactly when its decision committed. A Kafka message's first result has an id derived
from where it was read (topic, partition, offset): when a crash makes the batch be read
again, its results come out with the same ids ("duplicate" then) and a consumer that
drops ids it has seen, as every consumer of the platform does, keeps the first.
"""

import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from services.registration.domain.validation import Rejection
from shared import topics
from shared.codec import OutgoingMessage, encode_envelope
from shared.enums import IntakeStatus
from shared.events import derived_id

HTTP_TOPIC = "http:/v1/events"


@dataclass(frozen=True, slots=True)
class Incoming:
    """One intake message as it arrived, from Kafka or HTTP."""

    raw: bytes
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    topic: str = HTTP_TOPIC
    partition: int = -1
    offset: int = -1


@dataclass(frozen=True, slots=True)
class Identity:
    event_id: uuid.UUID | None
    source: str | None
    event_type: str | None


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


def result_message(
    message: Incoming,
    who: Identity,
    status: IntakeStatus,
    *,
    rejection: Rejection | None = None,
    reason: str | None = None,
    first_sight: bool,
) -> OutgoingMessage:
    via = "http" if message.topic == HTTP_TOPIC else "kafka"
    # Only a Kafka message's first result can be produced again (by a redelivered batch).
    result_id = (
        derived_id("intake-result", message.topic, message.partition, message.offset)
        if first_sight and via == "kafka"
        else uuid.uuid4()
    )
    data = {
        "intake_event_id": who.event_id and str(who.event_id),
        "intake_source": who.source,
        "intake_event_type": who.event_type,
        "status": status.value,
        "error_code": rejection.code.value if rejection else None,
        "message": rejection.message if rejection else reason,
        "errors": [{"loc": e.loc, "msg": e.msg} for e in rejection.errors] if rejection else [],
        "received_via": via,
        "source_topic": message.topic,
        "source_partition": message.partition,
        "source_offset": message.offset,
    }
    value = encode_envelope(
        event_id=result_id,
        event_type="IntakeResult",
        occurred_at=datetime.now(UTC),
        source="registration",
        data=data,
    )
    key = f"{who.source}/{who.event_id}".encode() if who.source and who.event_id else message.key
    headers = [("event_type", b"IntakeResult")]
    if who.source:
        headers.append(("intake_source", who.source.encode()))
    return OutgoingMessage(topic=topics.INTAKE_RESULTS, key=key, value=value, headers=tuple(headers))
