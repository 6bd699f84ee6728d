"""The lean spans read as the SDK's: what one scenario exports through them, in Zipkin's
JSON and in OTLP, equals what the SDK's own spans export, ids and clocks aside."""

import base64
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.zipkin.node_endpoint import NodeEndpoint
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from shared.process.lean_spans import LeanTracerProvider
from shared.process.tracing import lean_zipkin_json

RESOURCE = Resource.create({"service.name": "awards"})
REMOTE_TRACE = "ab" * 16
REMOTE = SpanContext(int(REMOTE_TRACE, 16), int("cd" * 8, 16), is_remote=True, trace_flags=TraceFlags(1))


def _scenario(tracer: trace.Tracer) -> None:
    """What the services do with spans: a consumed record's, a step inside it with every
    kind of attribute, an event and a status, one that fails, and a batch's with a link."""
    record = tracer.start_span(
        "awards process t",
        context=trace.set_span_in_context(NonRecordingSpan(REMOTE)),
        kind=SpanKind.CONSUMER,
        attributes={"messaging.destination.name": "t", "messaging.kafka.offset": 7},
    )
    with tracer.start_as_current_span("awards decide", context=trace.set_span_in_context(record)) as step:
        step.set_attributes({"s": "x", "f": 0.5, "b": True, "list": ["a/b", "c/d"], "ints": (1, 2)})
        step.add_event("retried", {"attempt": 2}, timestamp=1_000)
        step.set_status(Status(StatusCode.OK))
        step.set_status(Status(StatusCode.ERROR, "after OK"))  # OK is final
    with pytest.raises(ValueError), tracer.start_as_current_span("awards publish", kind=SpanKind.PRODUCER):
        raise ValueError("broker gone")
    batch = tracer.start_span("awards batch", links=[Link(record.get_span_context())], attributes={"xj.records": 1})
    batch.end()
    record.end()


def _exported(provider_of: Callable[[SimpleSpanProcessor], trace.TracerProvider]) -> tuple[ReadableSpan, ...]:
    spans = InMemorySpanExporter()
    _scenario(provider_of(SimpleSpanProcessor(spans)).get_tracer("xj"))
    return spans.get_finished_spans()


def _sdk(processor: SimpleSpanProcessor) -> TracerProvider:
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(processor)
    return provider


def _lean(processor: SimpleSpanProcessor) -> LeanTracerProvider:
    return LeanTracerProvider(RESOURCE, processor, ratio=1.0)


def _zipkin(spans: tuple[ReadableSpan, ...]) -> list[dict[str, Any]]:
    where = NodeEndpoint()
    where.service_name = "awards"
    out = orjson.loads(lean_zipkin_json().serialize(spans, where))
    ids = {s["id"]: f"span{i}" for i, s in enumerate(out)}
    traces = {s["traceId"]: f"trace{i}" for i, s in enumerate(out)} | {REMOTE_TRACE: REMOTE_TRACE}
    for s in out:  # ids, clocks and a stack's lines differ between any two runs
        s["id"], s["traceId"] = ids[s["id"]], traces[s["traceId"]]
        if "parentId" in s:
            s["parentId"] = ids.get(s["parentId"], s["parentId"])
        s["timestamp"] = s["duration"] = 0
        for a in s.get("annotations", []):
            a["value"] = orjson.loads(a["value"])
            a["value"].get("exception", {}).pop("exception.stacktrace", None)
            a["timestamp"] = a["timestamp"] if a["timestamp"] == 1 else 0
    return out


def _otlp(spans: tuple[ReadableSpan, ...]) -> dict[str, Any]:
    out = MessageToDict(encode_spans(spans))
    for s in out["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        if s["traceId"] != base64.b64encode(bytes.fromhex(REMOTE_TRACE)).decode():  # OTLP's JSON form
            s["traceId"] = "new"
        for key in ("spanId", "parentSpanId", "startTimeUnixNano", "endTimeUnixNano"):
            s.pop(key, None)
        for link in s.get("links", []):
            link.pop("spanId")
        for event in s.get("events", []):
            event.pop("timeUnixNano")
            event["attributes"] = [a for a in event["attributes"] if a["key"] != "exception.stacktrace"]
    return out


def test_a_scenario_exports_the_same_zipkin_json_and_otlp_through_lean_spans_as_through_the_sdks() -> None:
    sdk, lean = _exported(_sdk), _exported(_lean)
    assert _zipkin(lean) == _zipkin(sdk)
    assert _otlp(lean) == _otlp(sdk)
    step, failed, batch, record = _zipkin(lean)
    assert (step["name"], step["parentId"], step["tags"]) == (
        "awards decide",
        "span3",
        {"s": "x", "f": "0.5", "b": "true", "list": '["a/b","c/d"]', "ints": '["1","2"]', "otel.status_code": "OK"},
    )
    assert (failed["kind"], failed["tags"]) == (
        "PRODUCER",
        {"otel.status_code": "ERROR", "error": "ValueError: broker gone"},
    )
    assert (record["kind"], record["parentId"], record["traceId"]) == ("CONSUMER", "cd" * 8, REMOTE_TRACE)
    assert (batch["traceId"], "parentId" in batch) == ("trace2", False)  # a trace of its own, linked
    assert [link.context for link in lean[2].links] == [lean[3].get_span_context()]


def test_a_trace_not_kept_is_a_context_without_a_span_and_exports_nothing() -> None:
    spans = InMemorySpanExporter()
    tracer = LeanTracerProvider(RESOURCE, SimpleSpanProcessor(spans), ratio=0.0).get_tracer("xj")
    request = tracer.start_span("POST /v1/facts", kind=SpanKind.SERVER)
    unsampled = SpanContext(REMOTE.trace_id, REMOTE.span_id, is_remote=True, trace_flags=TraceFlags(0))
    continued = tracer.start_span("awards process t", context=trace.set_span_in_context(NonRecordingSpan(unsampled)))
    statement = tracer.start_span("SELECT", kind=SpanKind.CLIENT)
    for span in (request, continued, statement):
        assert not span.is_recording()
        assert span.get_span_context().is_valid and not span.get_span_context().trace_flags.sampled
        span.set_attribute("ignored", "x")
        span.end()
    assert continued.get_span_context().trace_id == REMOTE.trace_id
    assert spans.get_finished_spans() == ()


def test_an_ended_span_changes_no_more_and_ends_once() -> None:
    spans = InMemorySpanExporter()
    span = LeanTracerProvider(RESOURCE, SimpleSpanProcessor(spans), ratio=1.0).get_tracer("xj").start_span("x")
    span.set_attribute("before", 1)
    span.end()
    span.set_attribute("after", 2)
    span.update_name("renamed")
    span.end()
    (only,) = spans.get_finished_spans()
    assert (only.name, dict(only.attributes or {}), only.is_recording()) == ("x", {"before": 1}, False)
