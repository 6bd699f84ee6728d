"""OpenTelemetry's tracing API with spans that are only their values.

The SDK's span is made for any process: every attribute is checked and copied under a
lock into a bounded mapping, each span makes several locks and bounded lists, and a
sampler object and a chain of processors are asked at its start. A service here makes a
span on one event loop, with attributes it wrote itself, and at 10 % sampling that
machinery, run cold between ordinary work, cost twice what the ratio suggests. So a span
here is a `ReadableSpan` (what every exporter reads) with plain fields, decided by one
function (`keeps`), and handed at its end to the SDK's own `BatchSpanProcessor`: the
queue, the export thread, the `OTEL_BSP_*` variables and the exporters are the library's.
"""

import traceback
from collections.abc import Iterator, Mapping, Sequence
from random import getrandbits
from time import time_ns
from types import TracebackType

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util._decorator import _agnosticcontextmanager
from opentelemetry.util.types import Attributes, AttributeValue

_LOW_64 = (1 << 64) - 1
_KEPT = TraceFlags(TraceFlags.SAMPLED)
_NOT_KEPT = TraceFlags(TraceFlags.DEFAULT)
_UNSET = Status(StatusCode.UNSET)


def keeps(ratio: float, parent: SpanContext | None, kind: SpanKind, trace_id: int) -> bool:
    """Whether a span is recorded and exported. Parent-based: a caller's decision is kept.
    Without a parent, a request (SERVER) begins a kept trace at `ratio`, by its trace id as
    the SDK's TraceIdRatioBased decides; a consumed record's or a batch's root (CONSUMER,
    INTERNAL) was decided by the platform's own code where facts enter, so it is kept; a
    database statement (CLIENT) begins none (the relay's polls, the gauges' reads every few
    seconds would each be a trace of one span)."""
    if parent is not None and parent.is_valid:
        return parent.trace_flags.sampled
    if kind is SpanKind.CLIENT:
        return False
    if kind is SpanKind.CONSUMER or kind is SpanKind.INTERNAL:
        return True
    return trace_id & _LOW_64 < round(ratio * (_LOW_64 + 1))


class LeanSpan(trace.Span, ReadableSpan):
    """A recording span: its values, changed only by the one task that made it, until it ends."""

    def __init__(  # noqa: PLR0917 - a ReadableSpan's fields
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: dict[str, AttributeValue],
        links: Sequence[Link],
        start_time: int,
        scope: "LeanTracer",
    ) -> None:
        self._name = name
        self._own = context
        self._context = context
        self._parent = parent
        self._kind = kind
        self._values = attributes
        self._attributes = attributes
        self._links = tuple(links)
        self._events: tuple[Event, ...] = ()  # a span seldom has one: no list until then
        self._status = _UNSET
        self._start_time = start_time
        self._end_time: int | None = None
        self._resource = scope.resource
        self._instrumentation_scope = scope.scope
        self._instrumentation_info = None
        self._on_end = scope.on_end

    def get_span_context(self) -> SpanContext:
        return self._own

    def is_recording(self) -> bool:
        return self._end_time is None

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        if self._end_time is None and value is not None:
            self._values[key] = tuple(value) if isinstance(value, list) else value

    def add_event(self, name: str, attributes: Attributes = None, timestamp: int | None = None) -> None:
        if self._end_time is None:
            self._events = (*self._events, Event(name, attributes, timestamp or time_ns()))

    def add_link(self, context: SpanContext, attributes: Attributes = None) -> None:
        if self._end_time is None and context.is_valid:
            self._links = (*self._links, Link(context, attributes))

    def update_name(self, name: str) -> None:
        if self._end_time is None:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self._end_time is not None or self._status.status_code is StatusCode.OK:
            return  # OK is final, as the specification says
        self._status = status if isinstance(status, Status) else Status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        described: dict[str, AttributeValue] = {
            "exception.type": type(exception).__qualname__,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        self.add_event("exception", {**described, **(attributes or {})}, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._end_time is None:
            self._end_time = end_time or time_ns()
            self._on_end(self)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if exc_val is not None and self.is_recording():
            self.record_exception(exc_val, escaped=True)
            self.set_status(Status(StatusCode.ERROR, f"{type(exc_val).__name__}: {exc_val}"))
        super().__exit__(exc_type, exc_val, exc_tb)


class LeanTracer(trace.Tracer):
    def __init__(self, resource: Resource, processor: SpanProcessor, ratio: float, name: str) -> None:
        self.resource = resource
        self.on_end = processor.on_end
        self.scope = InstrumentationScope(name)
        self._ratio = ratio

    def start_span(  # noqa: PLR0917 - the API's signature
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        around = trace.get_current_span(context).get_span_context()
        parent = around if around.is_valid else None
        trace_id = around.trace_id if parent is not None else getrandbits(128)
        state = around.trace_state if parent is not None else None
        kept = keeps(self._ratio, parent, kind, trace_id)
        own = SpanContext(trace_id, getrandbits(64), False, _KEPT if kept else _NOT_KEPT, state)
        if not kept:
            return trace.NonRecordingSpan(own)
        values: dict[str, AttributeValue] = {k: v for k, v in attributes.items() if v is not None} if attributes else {}
        return LeanSpan(name, own, parent, kind, values, links or (), start_time or time_ns(), self)

    @_agnosticcontextmanager  # the API's own: usable with `with` and `async with`
    def start_as_current_span(  # noqa: PLR0917 - the API's signature
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace.Span]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as current:
            yield current


class LeanTracerProvider(trace.TracerProvider):
    """One process's tracers, their spans ended onto `processor` (the SDK's batch processor)."""

    def __init__(self, resource: Resource, processor: SpanProcessor, ratio: float) -> None:
        self._resource = resource
        self._processor = processor
        self._ratio = ratio

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> trace.Tracer:
        return LeanTracer(self._resource, self._processor, self._ratio, instrumenting_module_name)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._processor.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self._processor.shutdown()
