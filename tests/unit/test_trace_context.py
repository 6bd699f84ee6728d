"""The trace headers a message carries, and where a trace may begin (pure parts of
shared/messaging/trace_context.py and shared/process/tracing.py; the hops themselves are
proven against a real Zipkin in tests/e2e/test_tracing.py)."""

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from shared.messaging.trace_context import _context, carried, sampled, step, trace_id, with_trace
from shared.process.lean_spans import keeps
from shared.process.tracing import sample_ratio

PARENT = b"00-" + b"ab" * 16 + b"-" + b"cd" * 8 + b"-01"


def test_the_trace_headers_are_picked_replaced_and_read() -> None:
    headers = [("event_type", b"X"), ("traceparent", PARENT), ("tracestate", b"v=1"), ("dlq.error", b"e")]
    assert carried(headers) == (("traceparent", PARENT), ("tracestate", b"v=1"))
    assert carried(None) == ()
    mine = (("traceparent", b"00-" + b"12" * 16 + b"-" + b"34" * 8 + b"-01"),)
    assert with_trace(headers, mine) == (("event_type", b"X"), ("dlq.error", b"e"), *mine)
    assert with_trace(headers, ()) == tuple(headers)  # nothing to carry: the headers as they came
    assert trace_id(headers) == "ab" * 16
    assert trace_id([("traceparent", b"00-" + b"0" * 32 + b"-" + b"cd" * 8 + b"-01")]) is None  # invalid id
    assert trace_id([("traceparent", b"garbage")]) is None
    assert trace_id([("event_type", b"X")]) is None


def _parent(sampled: bool) -> Context:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    span = NonRecordingSpan(SpanContext(int("ab" * 16, 16), int("cd" * 8, 16), is_remote=True, trace_flags=flags))
    return trace.set_span_in_context(span)


def _parent_of(sampled: bool) -> SpanContext:
    return trace.get_current_span(_parent(sampled)).get_span_context()


def test_a_trace_begins_at_the_ratio_a_callers_choice_is_kept_and_no_statement_begins_one() -> None:
    new_trace = int("ef" * 16, 16)
    # A request begins a trace at the ratio, by the trace id's low 64 bits (as TraceIdRatioBased).
    assert keeps(1.0, None, SpanKind.SERVER, new_trace) is True
    assert keeps(0.0, None, SpanKind.SERVER, new_trace) is False
    assert keeps(0.5, None, SpanKind.SERVER, (1 << 63) - 1) is True
    assert keeps(0.5, None, SpanKind.SERVER, 1 << 63) is False
    # A consumed record's or a batch's root was decided by the platform's code (begin_trace).
    for kind in (SpanKind.CONSUMER, SpanKind.INTERNAL):
        assert keeps(0.0, None, kind, new_trace) is True
    # A statement outside any span (the relay's poll, a gauge's read) is no trace of its own.
    assert keeps(1.0, None, SpanKind.CLIENT, new_trace) is False
    # Parent-based: a sender's sampled trace is continued even at 0 %, an unsampled one not at 100 %.
    assert keeps(0.0, _parent_of(True), SpanKind.SERVER, 1) is True
    assert keeps(1.0, _parent_of(False), SpanKind.SERVER, 1) is False
    assert keeps(1.0, _parent_of(True), SpanKind.CLIENT, 1) is True


def test_the_sampled_flag_is_read_from_the_traceparent() -> None:
    assert sampled([("traceparent", PARENT)]) is True
    assert sampled([("traceparent", PARENT[:-2] + b"00")]) is False
    assert sampled([("traceparent", PARENT[:-2] + b"zz")]) is None
    assert sampled([("event_type", b"X")]) is None


def test_without_tracing_a_step_makes_no_span_and_passes_the_headers_on() -> None:
    headers = (("traceparent", PARENT),)
    with step("awards decide", headers) as carried_on:
        assert carried_on == headers
        assert not trace.get_current_span().is_recording()


def test_the_ratio_is_a_fraction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.1")
    assert sample_ratio() == 0.1
    monkeypatch.delenv("OTEL_TRACES_SAMPLER_ARG")
    assert sample_ratio() == 1.0
    for bad, said in (("ten", "must be a number"), ("1.5", "must be from 0 to 1")):
        monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", bad)
        with pytest.raises(ValueError, match=said):
            sample_ratio()


def test_a_traceparent_is_read_as_the_remote_parent_and_a_broken_one_as_none() -> None:
    parent = trace.get_current_span(_context((("traceparent", PARENT), ("tracestate", b"v=1"))))
    c = parent.get_span_context()
    assert (c.trace_id, c.span_id, c.is_remote, c.trace_flags.sampled, c.trace_state.to_header()) == (
        int("ab" * 16, 16),
        int("cd" * 8, 16),
        True,
        True,
        "v=1",
    )
    for broken in (b"garbage", b"00-" + b"0" * 32 + b"-" + b"cd" * 8 + b"-01", b"ff-" + PARENT[3:], b"00-ab-cd-01"):
        assert not trace.get_current_span(_context((("traceparent", broken),))).get_span_context().is_valid
    assert not trace.get_current_span(_context(())).get_span_context().is_valid


def test_the_lean_zipkin_json_is_the_sdks_without_the_resource_and_scope_tags() -> None:
    import orjson
    from opentelemetry.exporter.zipkin.json.v2 import JsonV2Encoder
    from opentelemetry.exporter.zipkin.node_endpoint import NodeEndpoint
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Status, StatusCode

    from shared.process.tracing import lean_zipkin_json

    spans = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "awards"}))
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("xj")
    attributes = {"s": "x", "n": 3, "f": 0.5, "b": True, "list": ("a", "b"), "flags": (True, False), "ints": (1, 2)}
    with (
        tracer.start_as_current_span("parent", kind=SpanKind.CONSUMER),
        tracer.start_as_current_span("child", attributes=attributes) as child,
    ):
        child.set_status(Status(StatusCode.ERROR, "ValueError"))
        child.add_event("retried", {"attempt": 2})
    with tracer.start_as_current_span("ok") as ok:
        ok.set_status(Status(StatusCode.OK))
    where = NodeEndpoint()
    where.service_name = "awards"
    ours = orjson.loads(lean_zipkin_json().serialize(spans.get_finished_spans(), where))
    sdks = orjson.loads(JsonV2Encoder().serialize(spans.get_finished_spans(), where))
    repeated = ("service.", "telemetry.sdk.", "otel.scope.", "otel.library.")  # the resource's and the scope's
    for sdk in sdks:
        sdk["tags"] = {k: v for k, v in sdk["tags"].items() if not k.startswith(repeated)}
        if not sdk["tags"]:
            del sdk["tags"]
    assert ours == sdks
    assert ours[0]["tags"] == {
        "s": "x",
        "n": "3",
        "f": "0.5",
        "b": "true",
        "list": '["a","b"]',
        "flags": '["true","false"]',
        "ints": '["1","2"]',
        "otel.status_code": "ERROR",
        "error": "ValueError",
    }
    assert [o["name"] for o in ours] == ["child", "parent", "ok"]
    assert ours[2]["tags"] == {"otel.status_code": "OK"}
    assert ours[0]["parentId"] == ours[1]["id"] and "parentId" not in ours[1]
