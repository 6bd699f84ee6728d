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
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)
from opentelemetry.util.types import AttributeValue

from shared.process import tracing

Headers = tuple[tuple[str, bytes], ...]
T = TypeVar("T")
TRACE_KEYS = frozenset({"traceparent", "tracestate"})


def carried(headers: Iterable[tuple[str, bytes]] | None) -> Headers:
    """The trace headers among `headers`, as they are (asked of every record and message)."""
    return tuple([(k, v) for k, v in headers if k in TRACE_KEYS]) if headers else ()


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
    """The remote parent a `traceparent` names (its `tracestate` kept); an empty context for
    one that does not parse. Read directly: the propagator's regular expressions were a
    tenth of a traced consumer's CPU."""
    found = dict(trace_headers)
    try:
        version, trace_id, span_id, flags = found["traceparent"].decode("ascii").split("-")[:4]
        parent = SpanContext(
            int(trace_id, 16),
            int(span_id, 16),
            is_remote=True,
            trace_flags=TraceFlags(int(flags, 16)),
            trace_state=TraceState.from_header([found["tracestate"].decode("ascii")])
            if "tracestate" in found
            else None,
        )
    except (KeyError, ValueError, UnicodeDecodeError):
        return Context()
    if version == "ff" or len(trace_id) != 32 or len(span_id) != 16 or not parent.is_valid:
        return Context()
    return trace.set_span_in_context(NonRecordingSpan(parent))


def _headers_of(span: Span) -> Headers:
    """W3C's headers for `span`, written directly (the propagator's inject is a third of this
    function's cost again, for the same bytes)."""
    c = span.get_span_context()
    parent = ("traceparent", b"00-%032x-%016x-%02x" % (c.trace_id, c.span_id, c.trace_flags))
    return (parent, ("tracestate", c.trace_state.to_header().encode())) if c.trace_state else (parent,)


def sampled(trace_headers: Iterable[tuple[str, bytes]]) -> bool | None:
    """Whether a `traceparent` says its trace is kept (its flags' lowest bit); None without one."""
    for k, v in trace_headers:
        if k == "traceparent":
            try:
                return bool(int(v[-2:], 16) & 1)
            except ValueError:
                return None
    return None


@dataclass
class _Batch:
    # each record's span (None when its trace is not kept) and what its messages carry
    by_record: dict[tuple[str, int, int], tuple[Span | None, Headers]] = field(default_factory=dict)
    by_key: dict[bytes, Headers] = field(default_factory=dict)

    @property
    def spans(self) -> list[Span]:
        return [span for span, _ in self.by_record.values() if span is not None]


_batch: ContextVar[_Batch | None] = ContextVar("trace_batch", default=None)


@contextmanager
def consuming(service: str, records: Sequence[Any], *, begins_traces: bool = False) -> Iterator[None]:
    """A span (kind CONSUMER) for each record whose trace is kept, the child of its
    record's context, ended when the batch is done; a failed batch marks them as errors
    (its records come back). A record whose trace is not kept passes its headers on with
    no span. `begins_traces`: where facts enter, a record without a trace begins one, kept
    at the sampling ratio; further in, such a record gets none (its fact was not sampled)."""
    if not tracing.enabled():
        with _passing_on(records):
            yield
        return
    batch = _Batch()
    for r in records:
        if (traced := _record_trace(service, r, begins_traces)) is not None:
            batch.by_record[(r.topic, r.partition, r.offset)] = traced
            if r.key is not None:
                batch.by_key[r.key] = traced[1]  # the aggregate's latest record of the batch
    if not batch.by_record:
        yield
        return
    spans = batch.spans
    whole = _batch_span(service, spans) if spans else None
    token = _batch.set(batch)
    try:
        yield
    except BaseException as exc:
        for span in spans:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        _batch.reset(token)
        for span in spans:
            span.end()
        if whole is not None:
            whole.end()


def _record_trace(service: str, r: Any, begins_traces: bool) -> tuple[Span | None, Headers] | None:
    """A record's span and what its messages carry; None when it has no trace."""
    trace_headers = carried(r.headers)
    kept = sampled(trace_headers)
    if kept is False:  # the sender's choice, passed on as it came
        return None, trace_headers
    if kept is None and not (begins_traces and tracing.begin_trace()):
        return None
    span = tracing.TRACER.start_span(
        f"{service} process {r.topic}",
        context=_context(trace_headers) if kept else Context(),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.destination.name": r.topic,
            "messaging.destination.partition.id": str(r.partition),
            "messaging.kafka.offset": r.offset,
        },
    )
    return span, _headers_of(span)


def _batch_span(service: str, spans: list[Span]) -> Span:
    """The batch's transaction, whose statements serve all of its facts: a span of its own
    (its statements are not traced one by one: per fact and statement, that was most of
    what tracing cost), inside the trace of a batch of one; for more, a trace of its own,
    linked to each kept record's span (each names it in `xj.batch_trace_id`, since Zipkin
    shows no links)."""
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


def tag_event(record: Any, event_id: object) -> None:
    """Tag a kept record's consume span with the event id decoded from it (how a payout's
    basis fact's trace is found); nothing is formatted for a record that has no span."""
    batch = _batch.get()
    found = batch.by_record.get((record.topic, record.partition, record.offset)) if batch is not None else None
    if found is not None and found[0] is not None:
        found[0].set_attribute("xj.event_id", str(event_id))


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


def step(name: str, trace_headers: Headers, **attributes: Any) -> AbstractContextManager[Headers]:
    """A span of work done for something that carries `trace_headers` (its child; outside
    a consumed batch, the current span's when it carries none, as for a request); yields
    what the work's own messages carry. No span where no trace is kept: tracing off, an
    unsampled trace (its headers pass on), a record of a batch whose fact was not sampled,
    or nothing traced around it (asked once per decision: no generator is made then)."""
    kept = sampled(trace_headers)
    if not tracing.enabled() or kept is False or (kept is None and not _traced_around()):
        return nullcontext(trace_headers)
    return _span_of_step(name, _context(trace_headers) if kept else None, attributes)


@contextmanager
def _span_of_step(name: str, context: Context | None, attributes: dict[str, Any]) -> Iterator[Headers]:
    with tracing.TRACER.start_as_current_span(name, context=context, attributes=attributes) as span:
        yield _headers_of(span)


def _traced_around() -> bool:
    """Inside a consumed batch, work for a record without a trace is not traced (its fact was
    not sampled); elsewhere, inside a kept span (a request's)."""
    return _batch.get() is None and trace.get_current_span().is_recording()


Message = tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]  # topic, key, value, headers


def producing(service: str, messages: list[Message]) -> tuple[list[Message], list[Span]]:
    """A PRODUCER span for the messages of a relay round that carry the same kept trace
    context (what one fact's handling wrote: a canonical event and its intake result, a
    decision's award events), its context in place of theirs; the messages come back,
    changed where traced, and the caller ends the spans once the broker has acked."""
    if not tracing.enabled():
        return messages, []
    out: list[Message] = []
    publishing: dict[bytes, tuple[Span, Headers, set[str]]] = {}
    for topic, key, value, as_stored in messages:
        headers, carried_now = as_stored, carried(as_stored)
        if sampled(carried_now):  # an unsampled trace's headers go on as they are
            parent = dict(carried_now)["traceparent"]
            if parent not in publishing:
                span = tracing.TRACER.start_span(
                    f"{service} publish", context=_context(carried_now), kind=SpanKind.PRODUCER
                )
                publishing[parent] = span, _headers_of(span), set()
            span, mine, to = publishing[parent]
            to.add(topic)
            headers = list(with_trace(as_stored, mine))  # a fresh list: rows share header lists
        out.append((topic, key, value, headers))
    for span, _, to in publishing.values():
        span.set_attribute("messaging.destination.name", sorted(to))
    return out, [span for span, _, _ in publishing.values()]
