"""Receive one webhook delivery: verify it, store it durably, then answer 2xx. No web framework here:
:mod:`connectors.webhooks.asgi` serves it over HTTP, and tests can call it directly.

Order: known source and tenant (404) -> size (413) -> content type (415) -> signature with that
tenant's secrets only, which binds the tenant in the query to the signer (Standard Webhooks v1; for
``hubspot`` also HubSpot v3 when ``X-HubSpot-Signature-v3`` is sent) -> payload (400) -> backlog
high-water marks (429 tenant / 503 global) -> durable write through the group committer -> answer.
Rejections are 4xx with a typed code and never 410, which makes senders disable the endpoint;
overload and storage failures are 429/503 with Retry-After so the sender retries."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from connectors.webhooks.backpressure import BacklogGate, IngressLimits
from connectors.webhooks.group_commit import GroupCommitter
from connectors.webhooks.hubspot import HEADER_SIGNATURE_V3, verify_hubspot_v3
from connectors.webhooks.payloads import (
    MAX_DELIVERY_ID_CHARS,
    InvalidPayloadError,
    hubspot_events,
    require_json_object,
    usable_delivery_id,
)
from connectors.webhooks.port import InboxOverloadedError, InboxStorageError, NewDelivery, WebhookInboxPort
from connectors.webhooks.secrets import WebhookSecretStore
from connectors.webhooks.tracing import WebhookTracer
from connectors.webhooks.verify import SECRET_PREFIX, WebhookVerificationError, verify

log = logging.getLogger(__name__)

HUBSPOT_SOURCE = "hubspot"


@dataclass(frozen=True)
class Delivery:
    """One HTTP request to ``POST /webhooks/{source}?tenant=...``, as received."""

    source: str
    tenant: str
    headers: Mapping[str, str]  # lower-case names; the first of repeated headers
    body: bytes | None  # None: larger than the receiver's limit (not read to the end)
    uri: Callable[[], str]  # the request URI the sender signed (HubSpot v3 signs it)


@dataclass(frozen=True)
class Answer:
    status: int
    content: dict[str, Any]
    headers: Mapping[str, str]

    def body(self) -> bytes:
        return json.dumps(self.content, separators=(",", ":")).encode()


def error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Answer:
    return Answer(status, {"error": code, "message": message}, headers or {})


def _is_json_media_type(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == "application/json"


class WebhookReceiver:
    """``limits`` bound body sizes and backlogs; ``clock`` (Unix seconds) is for tests of the
    timestamp window; ``committer`` defaults to a group committer over ``inbox.store_many``, which
    :meth:`aclose` drains and stops; ``tracer`` (OpenTelemetry) starts each request's server span, a
    child of the sender's ``traceparent`` when valid."""

    def __init__(self, inbox: WebhookInboxPort, secrets: WebhookSecretStore, known_sources: set[str],
                 *, limits: IngressLimits | None = None, clock: Callable[[], float] | None = None,
                 committer: GroupCommitter | None = None, tracer: WebhookTracer | None = None) -> None:
        self.known_sources = frozenset(known_sources)
        self.limits = limits or IngressLimits()
        self._secrets = secrets
        self._now = clock or time.time
        self._owns_committer = committer is None
        self._writer = committer or GroupCommitter(inbox.store_many)
        self._gate = BacklogGate(inbox.backlog_by_tenant, self.limits)
        self._tracing = tracer or WebhookTracer()
        self._retry_after = {"Retry-After": str(self.limits.retry_after_seconds)}

    async def receive(self, delivery: Delivery) -> Answer:
        with self._tracing.request_span(delivery.headers, delivery.source, delivery.tenant) as trace:
            answer = await self._receive(delivery, trace.trace_id)
            trace.answered(answer.status)
            return answer

    async def aclose(self) -> None:
        """Commit what is queued, then stop the writer (when this receiver made the committer)."""
        if self._owns_committer:
            await self._writer.aclose()

    async def _receive(self, delivery: Delivery, trace_id: str) -> Answer:
        source, tenant, headers, body = delivery.source, delivery.tenant, delivery.headers, delivery.body
        if source not in self.known_sources:
            return error(404, "unknown_source", f"no webhook source '{source}'; known sources: "
                         f"{', '.join(sorted(self.known_sources))}")
        active = self._secrets.secrets_for(tenant, source)
        if not active:
            return error(404, "unknown_tenant", f"no webhook secret is configured for tenant "
                         f"'{tenant}' and source '{source}'")
        if body is None:
            return error(413, "payload_too_large", f"body exceeds {self.limits.max_body_bytes} bytes")
        if not _is_json_media_type(headers.get("content-type")):
            return error(415, "unsupported_media_type", "Content-Type must be application/json")
        received = self._now()
        hubspot = source == HUBSPOT_SOURCE and HEADER_SIGNATURE_V3 in headers
        try:
            if hubspot:
                verify_hubspot_v3("POST", delivery.uri(), headers, body, active, now=received)
            else:
                standard = [s for s in active if s.startswith(SECRET_PREFIX)]
                delivery_id = verify(headers, body, standard, now=int(received)).delivery_id
        except WebhookVerificationError as exc:
            log.info("webhook rejected: tenant=%r source=%r code=%s", tenant, source, exc.code)
            return error(401, exc.code, exc.message)
        at = datetime.fromtimestamp(received, UTC)
        try:
            if hubspot:
                deliveries = [NewDelivery(tenant, source, e.delivery_id, at, e.body, trace_id)
                              for e in hubspot_events(body)]
            else:
                if not usable_delivery_id(delivery_id):
                    return error(400, "invalid_delivery_id", f"webhook-id must be printable ASCII of "
                                 f"at most {MAX_DELIVERY_ID_CHARS} characters")
                require_json_object(body)
                deliveries = [NewDelivery(tenant, source, delivery_id, at, body, trace_id)]
        except InvalidPayloadError as exc:
            return error(400, "invalid_payload", str(exc))
        gate = self._gate
        # Recent figures are checked on the loop; only a due refresh (an inbox read) goes to a thread:
        # a thread hop per request costs more than the rest of the handler.
        if gate.enabled and (overload := gate.check(tenant) if gate.fresh
                             else await run_in_threadpool(gate.check, tenant)) is not None:
            log.warning("webhook refused, backlog: tenant=%r code=%s", tenant, overload.code)
            return error(overload.status, overload.code, overload.message, headers=self._retry_after)
        try:
            is_new = await self._writer.store(deliveries)
        except InboxOverloadedError as exc:
            return error(503, "receiver_overloaded", f"{exc}; retry later", headers=self._retry_after)
        except InboxStorageError as exc:
            log.error("webhook inbox unavailable: tenant=%r source=%r: %s", tenant, source, exc)
            return error(503, "inbox_unavailable", "the delivery was not stored; retry later",
                         headers=self._retry_after)
        stored = sum(is_new)
        gate.stored(tenant, stored)
        return _accepted(tenant, source, deliveries, stored, trace_id)


def _accepted(tenant: str, source: str, deliveries: list[NewDelivery], stored: int,
              trace_id: str) -> Answer:
    content: dict[str, Any] = {"status": "accepted" if stored else "duplicate", "trace_id": trace_id}
    if len(deliveries) == 1:
        content["delivery_id"] = deliveries[0].delivery_id
    else:
        content.update(events=len(deliveries), stored=stored)
    if stored:
        log.info("webhook accepted: tenant=%r source=%r events=%d new=%d trace=%s", tenant, source,
                 len(deliveries), stored, trace_id)
    return Answer(202 if stored else 200, content, {})
