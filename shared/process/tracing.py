"""OpenTelemetry for a service process, configured by OpenTelemetry's own variables.

Tracing is on when an exporter has somewhere to send: `OTEL_EXPORTER_ZIPKIN_ENDPOINT` (a
Zipkin server's /api/v2/spans) or `OTEL_EXPORTER_OTLP_ENDPOINT` (a collector), and
`OTEL_SDK_DISABLED` is not true. Off, no provider is installed: no span is made, no trace
header is added, and trace headers that arrive are passed along unchanged
(shared/messaging/trace_context.py). Sampling is parent-based: a caller's decision is kept,
and a new trace is kept with probability `OTEL_TRACES_SAMPLER_ARG` (default 1), as `lean_spans.keeps` decides.
"""

import logging
import os
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

if TYPE_CHECKING:  # the SDK is imported only when tracing is on: a process without it starts faster
    from opentelemetry.sdk.trace.export import SpanExporter

    from shared.process.lean_spans import LeanTracerProvider

log = logging.getLogger(__name__)


class _Installed:
    provider: "LeanTracerProvider | None" = None
    ratio = 1.0


TRACER = trace.get_tracer("xj")  # a proxy: it traces once `configure` installs a provider


def wanted() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return bool(os.environ.get("OTEL_EXPORTER_ZIPKIN_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def enabled() -> bool:
    return _Installed.provider is not None


def begin_trace() -> bool:
    """Whether a fact that came without a trace begins a kept one (at the sampling ratio)."""
    return random.random() < _Installed.ratio


def sample_ratio() -> float:
    raw = os.environ.get("OTEL_TRACES_SAMPLER_ARG", "1")
    try:
        ratio = float(raw)
    except ValueError:
        raise ValueError(f"OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, not {raw!r}") from None
    if not 0 <= ratio <= 1:
        raise ValueError(f"OTEL_TRACES_SAMPLER_ARG must be from 0 to 1, not {ratio}")
    return ratio


def _exporter() -> "SpanExporter":
    if os.environ.get("OTEL_EXPORTER_ZIPKIN_ENDPOINT"):
        return _zipkin()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # reads the OTEL_EXPORTER_OTLP_* variables


def _zipkin() -> "SpanExporter":
    """The SDK's Zipkin exporter (it reads OTEL_EXPORTER_ZIPKIN_ENDPOINT) with a leaner encoder."""
    from opentelemetry.exporter.zipkin.json import ZipkinExporter

    exporter = ZipkinExporter()
    exporter.encoder = lean_zipkin_json()
    return exporter


def _tag(value: Any) -> str:
    """An attribute's value as a Zipkin tag, written as the SDK's encoder writes it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: a bool is one
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps([None if v is None else _tag(v) for v in value]).decode()  # a sequence


def _status_tags(status: Status) -> dict[str, str]:
    if status.status_code is StatusCode.UNSET:
        return {}
    if status.status_code is StatusCode.ERROR:
        return {"otel.status_code": "ERROR", "error": status.description or ""}
    return {"otel.status_code": status.status_code.name}


def lean_zipkin_json() -> Any:
    """Zipkin v2 JSON as the SDK's encoder writes it, less what costs without telling: not
    the nine tags per span that repeat the process's resource and the instrumentation's name
    (the span's service is its `localEndpoint`), each span built in one pass, and orjson.
    At full sampling, encoding spans was a quarter of a service's CPU; at 10 %, the SDK's
    tag conversion alone was 4 % of a consumer's."""
    from opentelemetry.exporter.zipkin.json.v2 import JsonV2Encoder
    from opentelemetry.exporter.zipkin.node_endpoint import NodeEndpoint

    kinds = JsonV2Encoder.SPAN_KIND_MAP

    class LeanJson(JsonV2Encoder):
        def _encode_span(self, span: Any, encoded_local_endpoint: Any) -> dict[str, Any]:  # a ReadableSpan
            context = span.get_span_context()
            start, end = span.start_time or 0, span.end_time or 0
            out: dict[str, Any] = {
                "traceId": format(context.trace_id, "032x"),
                "id": format(context.span_id, "016x"),
                "name": span.name,
                "timestamp": (start + 500) // 1000,
                "duration": (end - start + 500) // 1000,
                "localEndpoint": encoded_local_endpoint,
                "kind": kinds[span.kind],
            }
            tags = {k: _tag(v) for k, v in (span.attributes or {}).items()} | _status_tags(span.status)
            if tags:
                out["tags"] = tags
            if span.events:
                out["annotations"] = self._extract_annotations_from_events(span.events)
            if context.trace_flags.sampled:
                out["debug"] = True
            if span.parent is not None:
                out["parentId"] = format(span.parent.span_id, "016x")
            return out

        def serialize(self, spans: Sequence[Any], local_endpoint: NodeEndpoint) -> str:
            where = self._encode_local_endpoint(local_endpoint)
            return orjson.dumps([self._encode_span(s, where) for s in spans]).decode()

    return LeanJson()


def configure(service: str) -> bool:
    """Install this process's tracer provider when tracing is wanted; say whether it is on."""
    if _Installed.provider is not None or not wanted():
        return enabled()
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from shared.process.lean_spans import LeanTracerProvider

    name = os.environ.get("OTEL_SERVICE_NAME") or service
    # Larger export batches than the SDK's 512: each export is an HTTP request, and at full
    # sampling the requests were a third of the export's cost (OTEL_BSP_* still override).
    batches = BatchSpanProcessor(
        _exporter(),
        max_queue_size=None if os.environ.get("OTEL_BSP_MAX_QUEUE_SIZE") else 8192,
        max_export_batch_size=None if os.environ.get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") else 2048,
    )
    provider = LeanTracerProvider(Resource.create({"service.name": name}), batches, sample_ratio())
    trace.set_tracer_provider(provider)
    _Installed.provider = provider
    _Installed.ratio = sample_ratio()
    _instrument_database()
    log.info("tracing on: %s, sampling %.0f %% of new traces", name, sample_ratio() * 100)
    return True


def _instrument_database() -> None:
    """A span per statement run inside a kept span, named by the statement; the values are
    parameters and never recorded. Statements outside one cost no more than before."""
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    class WithinKeptSpans(AsyncPGInstrumentor):
        async def _do_execute(self, func: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if not trace.get_current_span().is_recording():
                return await func(*args, **kwargs)
            return await super()._do_execute(func, instance, args, kwargs)  # type: ignore[no-untyped-call]

        async def _do_cursor_execute(self, func: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if not trace.get_current_span().is_recording():
                return await func(*args, **kwargs)
            return await super()._do_cursor_execute(func, instance, args, kwargs)  # type: ignore[no-untyped-call]

    WithinKeptSpans(capture_parameters=False).instrument()  # type: ignore[no-untyped-call]


def shutdown() -> None:
    """Send what is buffered before the process ends."""
    if _Installed.provider is not None:
        _Installed.provider.shutdown()
