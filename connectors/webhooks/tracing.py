"""The OpenTelemetry server span of a webhook request, whose trace id follows the event through the
inbox to its signals, proposals and ledger entries.

A valid W3C ``traceparent`` from the sender makes the span its child (same trace id); otherwise the
span starts a new trace. Spans go to whatever processors the given TracerProvider has (an OTLP exporter
in production); the default provider has none, so a local receiver only mints ids."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

SPAN_NAME = "webhook.receive"
_PROPAGATOR = TraceContextTextMapPropagator()


class WebhookTracer:
    def __init__(self, provider: TracerProvider | None = None) -> None:
        self._tracer = (provider or TracerProvider()).get_tracer("revloop.webhooks")

    @contextmanager
    def request_span(self, headers: Mapping[str, str], source: str, tenant: str) -> Iterator[Span]:
        parent = _PROPAGATOR.extract(carrier=headers)
        with self._tracer.start_as_current_span(SPAN_NAME, context=parent, kind=SpanKind.SERVER,
                                                attributes={"revloop.tenant": tenant,
                                                            "revloop.webhook.source": source}) as span:
            yield span


def trace_id_of(span: Span) -> str:
    """The span's trace id as 32 lower-case hex digits (the W3C and ledger spelling)."""
    return format(span.get_span_context().trace_id, "032x")
