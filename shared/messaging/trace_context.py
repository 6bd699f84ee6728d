"""A fact's trace, carried in W3C `traceparent`/`tracestate` headers from hop to hop.

Kafka records carry it in their headers; the outbox keeps it with each message of a row
(messages of one row come from many facts); HTTP intake reads it from the request.
With tracing on, each hop adds its span and passes its own context on; with tracing off
(shared/process/tracing.py) nothing is made and what arrived is passed on unchanged.

A consumed batch is one transaction, but each record gets its own span, parented by the
record's own context: a fact's trace is then one path from its sender to the projection,
not a batch shared by two thousand facts. What a handler makes from a record asks
`of_record` (or `of_key`, for an aggregate's latest record of the batch) for the context
to carry.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from shared.process import tracing

Headers = tuple[tuple[str, bytes], ...]
T = TypeVar("T")
TRACE_KEYS = frozenset({"traceparent", "tracestate"})
_W3C = TraceContextTextMapPropagator()


def carried(headers: Iterable[tuple[str, bytes]] | None) -> Headers:
    """The trace headers among `headers`, as they are."""
    return tuple((k, v) for k, v in headers or () if k in TRACE_KEYS)


def with_trace(headers: Iterable[tuple[str, bytes]], trace_headers: Headers) -> Headers:
    """`headers` with their trace headers replaced by `trace_headers` (kept when that is empty)."""
    if not trace_headers:
        return tuple(headers)
    return (*(h for h in headers if h[0] not in TRACE_KEYS), *trace_headers)


def trace_id(trace_headers: Iterable[tuple[str, bytes]] | None) -> str | None:
    """The 32 hex digits of a valid `traceparent` (version-traceid-spanid-flags)."""
    for k, v in trace_headers or ():
        if k == "traceparent":
            parts = v.decode("ascii", "replace").split("-")
            if len(parts) >= 4 and len(parts[1]) == 32 and parts[1] != "0" * 32:
                return parts[1]
    return None


def _context(trace_headers: Headers) -> Context:
    return _W3C.extract({k: v.decode("ascii", "replace") for k, v in trace_headers})


def _headers_of(span: Span) -> Headers:
    out: dict[str, str] = {}
    _W3C.inject(out, context=trace.set_span_in_context(span))
    return tuple((k, v.encode()) for k, v in out.items())


@dataclass
class _Batch:
    by_record: dict[tuple[str, int, int], tuple[Span, Headers]] = field(default_factory=dict)
    by_key: dict[bytes, Headers] = field(default_factory=dict)


_batch: ContextVar[_Batch | None] = ContextVar("trace_batch", default=None)


@contextmanager
def consuming(service: str, records: Sequence[Any]) -> Iterator[None]:
    """One span per record of a batch (kind CONSUMER), each the child of its record's
    context or the root of a new trace, ended when the batch is done; a failed batch marks
    them all as errors (its records come back)."""
    if not tracing.enabled():
        with _passing_on(records):
            yield
        return
    batch = _Batch()
    for r in records:
        span = tracing.TRACER.start_span(
            f"{service} process {r.topic}",
            context=_context(carried(r.headers)),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": r.topic,
                "messaging.destination.partition.id": str(r.partition),
                "messaging.kafka.offset": r.offset,
            },
        )
        headers = _headers_of(span)
        batch.by_record[(r.topic, r.partition, r.offset)] = (span, headers)
        if r.key is not None:
            batch.by_key[r.key] = headers  # the aggregate's latest record of the batch
    token = _batch.set(batch)
    try:
        with trace.use_span(_batch_span(service, batch), end_on_exit=True):
            yield
    except BaseException as exc:
        for span, _ in batch.by_record.values():
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        _batch.reset(token)
        for span, _ in batch.by_record.values():
            span.end()


def _batch_span(service: str, batch: _Batch) -> Span:
    """The batch's transaction, where its database statements go: inside the trace of a
    batch of one; for more, a trace of its own, linked to each record's span (each record's
    span names it in `xj.batch_trace_id`, since Zipkin shows no links)."""
    spans = [span for span, _ in batch.by_record.values()]
    if len(spans) == 1:
        context, links = trace.set_span_in_context(spans[0]), []
    else:
        context, links = Context(), [trace.Link(s.get_span_context()) for s in spans]
    span = tracing.TRACER.start_span(
        f"{service} batch", context=context, links=links, attributes={"xj.records": len(spans)}
    )
    if len(spans) > 1 and span.is_recording():
        batch_trace = trace.format_trace_id(span.get_span_context().trace_id)
        for s in spans:
            s.set_attribute("xj.batch_trace_id", batch_trace)
    return span


@contextmanager
def _passing_on(records: Sequence[Any]) -> Iterator[None]:
    """Tracing off: an aggregate's latest trace headers of the batch, as they came, for
    what is made from it (`of_key`); nothing is set up for a batch that carries none."""
    by_key = {r.key: found for r in records if r.headers and r.key is not None and (found := carried(r.headers))}
    if not by_key:
        yield
        return
    token = _batch.set(_Batch(by_key=by_key))
    try:
        yield
    finally:
        _batch.reset(token)


def of_record(record: Any) -> Headers:
    """What a message made from `record` carries: its consume span's context, or, with
    tracing off, the record's own trace headers."""
    batch = _batch.get()
    if batch is not None and (found := batch.by_record.get((record.topic, record.partition, record.offset))):
        return found[1]
    return carried(record.headers)


def of_key(key: bytes) -> Headers:
    """The context of this batch's latest record with `key` (an aggregate's id); none outside a batch."""
    batch = _batch.get()
    return batch.by_key.get(key, ()) if batch is not None else ()


def tag_record(record: Any, **attributes: str) -> None:
    """Attributes of a record's consume span learnt by decoding it (its event id, type)."""
    batch = _batch.get()
    if batch is not None and (found := batch.by_record.get((record.topic, record.partition, record.offset))):
        found[0].set_attributes(attributes)


def describe(attributes_of: Callable[[T], Mapping[str, AttributeValue]], subject: T) -> None:
    """The current span's attributes, worked out only when it records."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(attributes_of(subject))


def of_current(request_headers: Iterable[tuple[str, str]]) -> Headers:
    """An HTTP request's context: the current (server) span's with tracing on, else the
    request's own trace headers as they came."""
    if tracing.enabled():
        span = trace.get_current_span()
        if span.get_span_context().is_valid:
            return _headers_of(span)
    return tuple((k.lower(), v.encode()) for k, v in request_headers if k.lower() in TRACE_KEYS)


@contextmanager
def step(name: str, trace_headers: Headers, **attributes: Any) -> Iterator[Headers]:
    """A span of work done for something that carries `trace_headers` (its child; the
    current span's when it carries none); yields what the work's own messages carry.
    Tracing off: no span, and `trace_headers` unchanged."""
    if not tracing.enabled():
        yield trace_headers
        return
    context = _context(trace_headers) if trace_headers else None
    with tracing.TRACER.start_as_current_span(name, context=context, attributes=attributes) as span:
        yield _headers_of(span)


Message = tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]  # topic, key, value, headers


def producing(service: str, messages: list[Message]) -> tuple[list[Message], list[Span]]:
    """A PRODUCER span for each message that carries a trace, its context in place of the
    message's trace headers (the messages come back, changed where traced); the caller
    ends the spans once the broker has acked."""
    if not tracing.enabled():
        return messages, []
    out, spans = [], []
    for topic, key, value, as_stored in messages:
        headers, carried_now = as_stored, carried(as_stored)
        if carried_now:
            span = tracing.TRACER.start_span(
                f"{service} publish {topic}",
                context=_context(carried_now),
                kind=SpanKind.PRODUCER,
                attributes={"messaging.system": "kafka", "messaging.destination.name": topic},
            )
            headers = list(with_trace(as_stored, _headers_of(span)))  # a fresh list: rows share header lists
            spans.append(span)
        out.append((topic, key, value, headers))
    return out, spans
