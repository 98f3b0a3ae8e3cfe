"""The request span: a valid traceparent continues the sender's trace, anything else starts a new one."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from connectors.webhooks.tracing import SPAN_NAME, WebhookTracer

SENDER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def traced(header: str | None, tracer: WebhookTracer | None = None) -> str:
    headers = {} if header is None else {"traceparent": header}
    with (tracer or WebhookTracer()).request_span(headers, "demo", "acme") as span:
        return span.trace_id


def test_a_valid_traceparent_gives_its_trace_id() -> None:
    assert traced(f"00-{SENDER_TRACE}-00f067aa0ba902b7-01") == SENDER_TRACE
    assert traced(f"01-{SENDER_TRACE}-00f067aa0ba902b7-01-extra") == SENDER_TRACE, \
        "later versions may append fields"


@pytest.mark.parametrize("header", [None, "", "garbage",
                                    f"ff-{SENDER_TRACE}-00f067aa0ba902b7-01",
                                    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                                    f"00-{SENDER_TRACE}-0000000000000000-01",
                                    f"00-{SENDER_TRACE.upper()}-00f067aa0ba902b7-01",
                                    f"00-{SENDER_TRACE}-00f067aa0ba902b7-01-extra"])
def test_an_absent_or_invalid_traceparent_starts_a_new_trace(header: str | None) -> None:
    trace_id = traced(header)
    assert len(trace_id) == 32 and int(trace_id, 16) != 0
    assert trace_id != SENDER_TRACE
    assert traced(header) != trace_id


def test_spans_reach_the_providers_processors_as_children_of_the_sender() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    traced(f"00-{SENDER_TRACE}-00f067aa0ba902b7-01", WebhookTracer(provider))
    [span] = exporter.get_finished_spans()
    assert span.name == SPAN_NAME and span.parent is not None
    assert format(span.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert dict(span.attributes or {}) == {"revloop.tenant": "acme", "revloop.webhook.source": "demo"}


def test_every_request_gets_its_own_span_from_one_tracer() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = WebhookTracer(provider)
    ids = {traced(None, tracer) for _ in range(3)}
    spans = exporter.get_finished_spans()
    assert len(spans) == 3 and len(ids) == 3
    assert {format(s.context.trace_id, "032x") for s in spans} == ids
