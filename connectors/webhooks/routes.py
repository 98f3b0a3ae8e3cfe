"""``POST /webhooks/{source}?tenant=<tenant>``: verify a delivery, store it durably, then 2xx.

Order: raw body bytes (bounded) -> known source and tenant -> size (413) -> content type (415) ->
signature with that tenant's secrets only, which binds the tenant in the query to the signer
(Standard Webhooks v1; for ``hubspot`` also HubSpot v3 when ``X-HubSpot-Signature-v3`` is sent) ->
payload -> backlog high-water marks (429 tenant / 503 global) -> durable write through the group
committer -> answer. Rejections are 4xx with a typed code and never 410, which makes senders disable
the endpoint; overload and storage failures are 429/503 with Retry-After so the sender retries."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

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
from connectors.webhooks.route_docs import OPENAPI_EXTRA, RESPONSES
from connectors.webhooks.secrets import WebhookSecretStore
from connectors.webhooks.tracing import WebhookTracer, trace_id_of
from connectors.webhooks.verify import SECRET_PREFIX, WebhookVerificationError, verify

log = logging.getLogger(__name__)

HUBSPOT_SOURCE = "hubspot"


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


async def _read_bounded(request: Request, max_bytes: int) -> bytes | None:
    """The raw body, or None as soon as it is known to exceed ``max_bytes``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _is_json_media_type(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == "application/json"


def request_uri(request: Request, public_base_url: str | None) -> str:
    """The URI the sender signed: the public base URL (behind a proxy) or the one received, with the
    path and query exactly as sent."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    path = raw_path.decode("latin-1")
    query = request.scope.get("query_string", b"").decode("latin-1")
    base = public_base_url.rstrip("/") if public_base_url else f"{request.url.scheme}://{request.url.netloc}"
    return f"{base}{path}" + (f"?{query}" if query else "")


def build_webhook_router(inbox: WebhookInboxPort, secrets: WebhookSecretStore, known_sources: set[str],
                         max_body_bytes: int = 256_000, clock: Callable[[], float] | None = None,
                         limits: IngressLimits | None = None, public_base_url: str | None = None,
                         committer: GroupCommitter | None = None,
                         tracer: WebhookTracer | None = None) -> APIRouter:
    """The webhook ingress router. ``limits`` (when given) replaces ``max_body_bytes``; ``clock``
    (Unix seconds) is for tests of the timestamp window; ``public_base_url`` is the scheme and host
    HubSpot is configured to call when a proxy sits in front; ``committer`` defaults to a group
    committer over ``inbox.store_many``, closed when the app shuts down; ``tracer`` (OpenTelemetry)
    starts each request's server span, a child of the sender's ``traceparent`` when valid."""
    tracing = tracer or WebhookTracer()
    now = clock or time.time
    limits = limits or IngressLimits(max_body_bytes=max_body_bytes)
    writer = committer or GroupCommitter(inbox.store_many)
    gate = BacklogGate(inbox.backlog_by_tenant, limits)
    retry_after = {"Retry-After": str(limits.retry_after_seconds)}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if committer is None:
            await writer.aclose()

    router = APIRouter(tags=["webhooks"], lifespan=lifespan)

    @router.post("/webhooks/{source}", status_code=202, responses=RESPONSES, openapi_extra=OPENAPI_EXTRA,
                 summary="Receive a signed webhook delivery (Standard Webhooks v1 or HubSpot v3)")
    async def receive_webhook(
        request: Request,
        source: str = Path(description="Webhook source.", json_schema_extra={"enum": sorted(known_sources)}),
        tenant: str = Query(description="Tenant the delivery belongs to; bound by its secret."),
    ) -> JSONResponse:
        with tracing.request_span(request.headers, source, tenant) as span:
            answer = await receive(request, source, tenant, trace_id_of(span))
            span.set_attribute("http.response.status_code", answer.status_code)
            return answer

    async def receive(request: Request, source: str, tenant: str, trace_id: str) -> JSONResponse:
        try:
            body = await _read_bounded(request, limits.max_body_bytes)
        except ClientDisconnect:
            return _error(400, "client_disconnected", "the client disconnected before sending the body")
        if source not in known_sources:
            return _error(404, "unknown_source", f"no webhook source '{source}'; known sources: "
                          f"{', '.join(sorted(known_sources))}")
        active = secrets.secrets_for(tenant, source)
        if not active:
            return _error(404, "unknown_tenant", f"no webhook secret is configured for tenant "
                          f"'{tenant}' and source '{source}'")
        if body is None:
            return _error(413, "payload_too_large", f"body exceeds {limits.max_body_bytes} bytes")
        if not _is_json_media_type(request.headers.get("content-type")):
            return _error(415, "unsupported_media_type", "Content-Type must be application/json")
        received = now()
        hubspot = source == HUBSPOT_SOURCE and HEADER_SIGNATURE_V3 in request.headers
        try:
            if hubspot:
                verify_hubspot_v3(request.method, request_uri(request, public_base_url), request.headers,
                                  body, active, now=received)
            else:
                standard = [s for s in active if s.startswith(SECRET_PREFIX)]
                delivery_id = verify(request.headers, body, standard, now=int(received)).delivery_id
        except WebhookVerificationError as exc:
            log.info("webhook rejected: tenant=%r source=%r code=%s", tenant, source, exc.code)
            return _error(401, exc.code, exc.message)
        at = datetime.fromtimestamp(received, UTC)
        try:
            if hubspot:
                deliveries = [NewDelivery(tenant, source, e.delivery_id, at, e.body, trace_id)
                              for e in hubspot_events(body)]
            else:
                if not usable_delivery_id(delivery_id):
                    return _error(400, "invalid_delivery_id", f"webhook-id must be printable ASCII of "
                                  f"at most {MAX_DELIVERY_ID_CHARS} characters")
                require_json_object(body)
                deliveries = [NewDelivery(tenant, source, delivery_id, at, body, trace_id)]
        except InvalidPayloadError as exc:
            return _error(400, "invalid_payload", str(exc))
        # Recent figures are checked on the loop; only a due refresh (an inbox read) goes to a thread:
        # a thread hop per request costs more than the rest of the handler.
        if gate.enabled and (overload := gate.check(tenant) if gate.fresh
                             else await run_in_threadpool(gate.check, tenant)) is not None:
            log.warning("webhook refused, backlog: tenant=%r code=%s", tenant, overload.code)
            return _error(overload.status, overload.code, overload.message, headers=retry_after)
        try:
            is_new = await writer.store(deliveries)
        except InboxOverloadedError as exc:
            return _error(503, "receiver_overloaded", f"{exc}; retry later", headers=retry_after)
        except InboxStorageError as exc:
            log.error("webhook inbox unavailable: tenant=%r source=%r: %s", tenant, source, exc)
            return _error(503, "inbox_unavailable", "the delivery was not stored; retry later",
                          headers=retry_after)
        stored = sum(is_new)
        gate.stored(tenant, stored)
        return _answer(tenant, source, deliveries, stored, trace_id)

    return router


def _answer(tenant: str, source: str, deliveries: list[NewDelivery], stored: int,
            trace_id: str) -> JSONResponse:
    content: dict[str, Any] = {"status": "accepted" if stored else "duplicate", "trace_id": trace_id}
    if len(deliveries) == 1:
        content["delivery_id"] = deliveries[0].delivery_id
    else:
        content.update(events=len(deliveries), stored=stored)
    if stored:
        log.info("webhook accepted: tenant=%r source=%r events=%d new=%d trace=%s", tenant, source,
                 len(deliveries), stored, trace_id)
    return JSONResponse(content, status_code=202 if stored else 200)
