"""What registration writes to its outbox: canonical events, intake results for senders
(registration.intake.results.v1) and dead letters.

Results go through the outbox with the batch that decided them, so a result exists
exactly when its decision committed. A Kafka message's first result has an id derived
from where it was read (topic, partition, offset): when a crash makes the batch be read
again, its results come out with the same ids ("duplicate" then) and a consumer that
drops ids it has seen, as every consumer of the platform does, keeps the first.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from services.registration.domain.intake import Identity, Incoming, Outcome, identity_of
from services.registration.domain.references import Apply
from services.registration.domain.validation import Rejection, ValidFact
from shared.contract import topics
from shared.contract.codec import OutgoingMessage, encode_envelope, event_message
from shared.contract.events import CARRIER_EVENT_TYPES, aggregate_id, derived_id
from shared.messaging import trace_context
from shared.messaging.dlq import dlq_message
from shared.messaging.trace_context import Headers

SERVICE = "registration"


def canonical_message(fact: ValidFact, decision: Apply, trace: Headers = ()) -> OutgoingMessage:
    """The intake fact as a canonical event: same id, plus the incubator's state for
    admissions and graduations (the shape of `CANONICAL_MODELS`; both parts are validated)."""
    env, event_type = fact.envelope, fact.event_type
    payload: dict[str, Any] = fact.data.model_dump(mode="json")
    if decision.incubator is not None:
        payload.update(decision.incubator.model_dump(mode="json"))
    topic = topics.CARRIER_EVENTS if event_type in CARRIER_EVENT_TYPES else topics.ENTERPRISE_EVENTS
    value = encode_envelope(
        event_id=env.event_id, event_type=event_type, occurred_at=env.occurred_at, source=env.source, data=payload
    )
    return event_message(
        topic=topic, key=aggregate_id(event_type, fact.data), envelope_bytes=value, event_type=event_type, trace=trace
    )


def _identity(message: Incoming, checked: ValidFact | Rejection) -> Identity:
    if isinstance(checked, ValidFact):
        env = checked.envelope
        return Identity(env.event_id, env.source, env.event_type)
    return identity_of(message.raw)


def _what_was_wrong(outcome: Outcome) -> dict[str, Any]:
    rejection = outcome.rejection
    if rejection is None:
        return {"error_code": None, "message": outcome.reason, "errors": []}
    return {
        "error_code": rejection.code.value,
        "message": rejection.message,
        "errors": [{"loc": e.loc, "msg": e.msg} for e in rejection.errors],
    }


def result_message(
    message: Incoming, checked: ValidFact | Rejection, outcome: Outcome, *, first_sight: bool
) -> OutgoingMessage:
    """What became of `message`, for its sender."""
    who = _identity(message, checked)
    via = "http" if message.via_http else "kafka"
    # Only a Kafka message's first result can be produced again (by a redelivered batch).
    result_id = (
        derived_id("intake-result", message.topic, message.partition, message.offset)
        if first_sight and via == "kafka"
        else None
    )
    data = {
        "intake_event_id": who.event_id,  # orjson writes a UUID as str() does
        "intake_source": who.source,
        "intake_event_type": who.event_type,
        "status": outcome.status.value,
        **_what_was_wrong(outcome),
        "received_via": via,
        "source_topic": message.topic,
        "source_partition": message.partition,
        "source_offset": message.offset,
        "trace_id": trace_context.trace_id(message.trace),
    }
    value = encode_envelope(
        event_id=result_id or uuid.uuid4(),
        event_type="IntakeResult",
        occurred_at=datetime.now(UTC),
        source=SERVICE,
        data=data,
    )
    key = f"{who.source}/{who.event_id}".encode() if who.source and who.event_id else message.key
    headers = [("event_type", b"IntakeResult")]
    if who.source:
        headers.append(("intake_source", who.source.encode()))
    headers += message.trace
    # A sender's own topic gets its own results topic, which only it may read.
    to = topics.sender_results(message.sender) if message.sender and not message.via_http else topics.INTAKE_RESULTS
    return OutgoingMessage(topic=to, key=key, value=value, headers=tuple(headers))


def dead_letter(message: Incoming, code: str, error: str) -> OutgoingMessage:
    return dlq_message(
        dlq_topic=topics.INTAKE_DLQ,
        service=SERVICE,
        error_code=code,
        error=error,
        source_topic=message.topic,
        source_partition=message.partition,
        source_offset=message.offset,
        key=message.key,
        value=message.raw,
        original_headers=trace_context.with_trace(message.headers, message.trace),
    )
