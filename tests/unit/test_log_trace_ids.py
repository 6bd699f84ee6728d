"""A JSON log line written inside a span names the trace and the span; one outside names none."""

import json
import logging

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.process.lean_spans import LeanTracerProvider
from shared.process.logs import JsonFormatter

PROVIDERS = {  # providers of their own: the process's stays unset
    "sdk": TracerProvider,
    "lean": lambda: LeanTracerProvider(Resource.create({}), SimpleSpanProcessor(InMemorySpanExporter()), 1.0),
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_line_inside_a_span_has_its_trace_and_span_ids(provider: str) -> None:
    formatter = JsonFormatter("awards")
    record = logging.LogRecord("awards.test", logging.INFO, __file__, 1, "decided %s", ("x",), None)
    assert {"trace_id", "span_id"}.isdisjoint(json.loads(formatter.format(record)))
    tracer = PROVIDERS[provider]().get_tracer("test")
    with tracer.start_as_current_span("awards decide") as span:
        line = json.loads(formatter.format(record))
    context = span.get_span_context()
    assert (line["msg"], line["trace_id"], line["span_id"]) == (
        "decided x",
        trace.format_trace_id(context.trace_id),
        trace.format_span_id(context.span_id),
    )
