"""The OpenTelemetry server span of a webhook request, whose trace id follows the event through the
inbox to its signals, proposals and ledger entries.

A valid W3C ``traceparent`` from the sender makes the span its child (same trace id); otherwise the
span starts a new trace. Spans go to the tracer provider given, by default the global one that the
deployment configures (``opentelemetry-instrument``, or ``trace.set_tracer_provider`` with an OTLP
exporter). Until one is configured the global provider records nothing, which costs a few
microseconds a request instead of a full span; the trace id is then the sender's, or a new random
one, so it still follows the event."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import ProxyTracerProvider, Span, SpanKind, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

SPAN_NAME = "webhook.receive"
_PROPAGATOR = TraceContextTextMapPropagator()
_IDS = RandomIdGenerator()


@dataclass(frozen=True)
class RequestTrace:
    span: Span
    trace_id: str  # 32 lower-case hex digits, the W3C and ledger spelling

    def answered(self, status_code: int) -> None:
        self.span.set_attribute("http.response.status_code", status_code)


class WebhookTracer:
    def __init__(self, provider: TracerProvider | None = None) -> None:
        self._provider = provider
        self._tracer: tuple[TracerProvider, Tracer] | None = None  # made once per provider, not per request

    @contextmanager
    def request_span(self, headers: Mapping[str, str], source: str, tenant: str) -> Iterator[RequestTrace]:
        """``headers`` with lower-case names, as ASGI gives them."""
        parent = _PROPAGATOR.extract(carrier=headers) if "traceparent" in headers else None
        provider = self._provider or trace.get_tracer_provider()
        if isinstance(provider, ProxyTracerProvider):  # no SDK configured (yet): nothing would record
            sender = trace.get_current_span(parent)
            yield RequestTrace(sender, format(_trace_id(sender), "032x"))
            return
        if self._tracer is None or self._tracer[0] is not provider:
            self._tracer = (provider, provider.get_tracer("revloop.webhooks"))
        with self._tracer[1].start_as_current_span(SPAN_NAME, context=parent, kind=SpanKind.SERVER,
                                          attributes={"revloop.tenant": tenant,
                                                      "revloop.webhook.source": source}) as span:
            yield RequestTrace(span, format(_trace_id(span), "032x"))


def _trace_id(span: Span) -> int:
    """The span's trace id; a non-recording span without a valid parent has none, so mint one."""
    context = span.get_span_context()
    return context.trace_id if context.is_valid else _IDS.generate_trace_id()
