"""The OpenAPI operation of ``POST /webhooks/{source}``: every parameter and every answer the receiver
gives (schemathesis checks the receiver against it)."""

from __future__ import annotations

from typing import Any

_ERROR_BODY = {"type": "object", "required": ["error", "message"],
               "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}
_ERROR = {"application/json": {"schema": _ERROR_BODY}}
_ACCEPTED = {"application/json": {"schema": {
    "type": "object", "required": ["status", "trace_id"],
    "properties": {"status": {"type": "string", "enum": ["accepted", "duplicate"]},
                   "trace_id": {"type": "string"}, "delivery_id": {"type": "string"},
                   "events": {"type": "integer"}, "stored": {"type": "integer"}}}}}
_RETRY = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}

RESPONSES: dict[int, dict[str, Any]] = {
    200: {"description": "Duplicate delivery id(s) for this tenant: already stored, nothing changed.",
          "content": _ACCEPTED},
    202: {"description": "Stored durably; `trace_id` is the W3C trace id (from `traceparent` or new).",
          "content": _ACCEPTED},
    400: {"description": "The `tenant` query parameter is missing or repeated "
                         "(`invalid_tenant_parameter`); or verified, but the body is not what the source "
                         "sends (`invalid_payload`) or the delivery id is unusable (`invalid_delivery_id`).",
          "content": _ERROR},
    401: {"description": "Verification failed: `missing_header`, `invalid_timestamp`, "
                         "`timestamp_out_of_tolerance` or `no_matching_signature`.", "content": _ERROR},
    404: {"description": "Unknown source, or no secret configured for this tenant and source.",
          "content": _ERROR},
    413: {"description": "Body larger than the receiver's limit.", "content": _ERROR},
    415: {"description": "Content-Type is not application/json.", "content": _ERROR},
    429: {"description": "This tenant's inbox backlog is over its high-water mark; retry after "
                         "`Retry-After` s.", "content": _ERROR, "headers": _RETRY},
    503: {"description": "Inbox backlog full, receiver overloaded or storage unavailable; retry after "
                         "`Retry-After` s.", "content": _ERROR, "headers": _RETRY},
}


def _header(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "description": description,
            "schema": {"type": "string"}}


# The receiver reads the raw body and headers itself (signatures cover the exact bytes).
_HEADERS = [
    _header("webhook-id", "Standard Webhooks: the delivery id (dedupe key per tenant)."),
    _header("webhook-timestamp", "Standard Webhooks: Unix seconds, within ±300 s of the receiver."),
    _header("webhook-signature", "Standard Webhooks: space-separated `v1,<base64>` signatures."),
    _header("x-hubspot-signature-v3", "HubSpot v3 signature (source `hubspot` only)."),
    _header("x-hubspot-request-timestamp", "HubSpot: Unix milliseconds, within ±300 s."),
    _header("traceparent", "W3C trace context; its trace id is stored with the event."),
]
_BODY = {"required": True, "content": {"application/json": {"schema": {
    "description": "A JSON object (Standard Webhooks) or a JSON array of events (HubSpot)."}}}}


def webhook_operation(known_sources: set[str]) -> dict[str, Any]:
    """The operation object, with ``source`` limited to the sources this receiver knows."""
    return {
        "tags": ["webhooks"],
        "summary": "Receive a signed webhook delivery (Standard Webhooks v1 or HubSpot v3)",
        "operationId": "receive_webhook",
        "parameters": [
            {"name": "source", "in": "path", "required": True, "description": "Webhook source.",
             "schema": {"type": "string", "enum": sorted(known_sources)}},
            {"name": "tenant", "in": "query", "required": True,
             "description": "Tenant the delivery belongs to; bound by its secret.",
             "schema": {"type": "string"}},
            *_HEADERS,
        ],
        "requestBody": _BODY,
        "responses": {str(status): answer for status, answer in RESPONSES.items()},
    }
