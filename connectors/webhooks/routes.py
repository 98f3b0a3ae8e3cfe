"""``POST /webhooks/{source}?tenant=<tenant>``: verify a Standard Webhooks delivery, store it, then 2xx.

Order: raw body bytes (bounded) -> known source and tenant -> size -> content type -> signature
(with that tenant's secrets only, which binds the tenant in the query to the signer) -> JSON object
-> durable write -> answer. Rejections are 4xx with a typed code and never 410, which makes senders
disable the endpoint; a storage failure is 503 with Retry-After so the sender retries."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from connectors.webhooks.inbox import InboxStorageError, WebhookInbox
from connectors.webhooks.secrets import WebhookSecretStore
from connectors.webhooks.verify import WebhookVerificationError, verify

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
MAX_DELIVERY_ID_CHARS = 256

_ERROR_BODY = {"type": "object", "properties": {"error": {"type": "string"},
                                                "message": {"type": "string"}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Duplicate delivery id for this tenant: already stored, nothing changed."},
    400: {"description": "Verified, but the body is not a UTF-8 JSON object (`invalid_payload`) or "
                         "the delivery id is unusable (`invalid_delivery_id`).",
          "content": {"application/json": {"schema": _ERROR_BODY}}},
    401: {"description": "Verification failed: `missing_header`, `invalid_timestamp`, "
                         "`timestamp_out_of_tolerance` or `no_matching_signature`.",
          "content": {"application/json": {"schema": _ERROR_BODY}}},
    404: {"description": "Unknown source, or no secret configured for this tenant and source.",
          "content": {"application/json": {"schema": _ERROR_BODY}}},
    413: {"description": "Body larger than the receiver's limit."},
    415: {"description": "Content-Type is not application/json."},
    503: {"description": "The inbox could not store the delivery; retry after `Retry-After` s."},
}


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


def _is_json_object(body: bytes) -> bool:
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _usable_delivery_id(delivery_id: str) -> bool:
    return len(delivery_id) <= MAX_DELIVERY_ID_CHARS and delivery_id.isascii() and delivery_id.isprintable()


def build_webhook_router(inbox: WebhookInbox, secrets: WebhookSecretStore, known_sources: set[str],
                         max_body_bytes: int = 256_000,
                         clock: Callable[[], float] | None = None) -> APIRouter:
    """The webhook ingress router; ``clock`` (Unix seconds) is for tests of the timestamp window."""
    now = clock or time.time
    router = APIRouter(tags=["webhooks"])

    @router.post("/webhooks/{source}", status_code=202, responses=_RESPONSES,
                 summary="Receive a signed webhook delivery (Standard Webhooks v1)")
    async def receive_webhook(
        source: str, request: Request,
        tenant: str = Query(description="Tenant the delivery belongs to; bound by its secret."),
    ) -> JSONResponse:
        try:
            body = await _read_bounded(request, max_body_bytes)
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
            return _error(413, "payload_too_large", f"body exceeds {max_body_bytes} bytes")
        if not _is_json_media_type(request.headers.get("content-type")):
            return _error(415, "unsupported_media_type", "Content-Type must be application/json")
        received = now()
        try:
            delivery = verify(request.headers, body, active, now=int(received))
        except WebhookVerificationError as exc:
            log.info("webhook rejected: tenant=%r source=%r code=%s", tenant, source, exc.code)
            return _error(401, exc.code, exc.message)
        if not _usable_delivery_id(delivery.delivery_id):
            return _error(400, "invalid_delivery_id", f"webhook-id must be printable ASCII of at most "
                          f"{MAX_DELIVERY_ID_CHARS} characters")
        if not _is_json_object(body):
            return _error(400, "invalid_payload", "the body must be a UTF-8 JSON object")
        try:
            is_new = await run_in_threadpool(inbox.store, tenant, source, delivery.delivery_id,
                                             datetime.fromtimestamp(received, UTC), body)
        except InboxStorageError as exc:
            log.error("webhook inbox unavailable: tenant=%r source=%r id=%r: %s",
                      tenant, source, delivery.delivery_id, exc)
            return _error(503, "inbox_unavailable", "the delivery was not stored; retry later",
                          headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        if not is_new:
            return JSONResponse({"status": "duplicate", "delivery_id": delivery.delivery_id},
                                status_code=200)
        log.info("webhook accepted: tenant=%r source=%r id=%r", tenant, source, delivery.delivery_id)
        return JSONResponse({"status": "accepted", "delivery_id": delivery.delivery_id},
                            status_code=202)

    return router
