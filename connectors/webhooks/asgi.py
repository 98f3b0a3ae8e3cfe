"""The webhook receiver over HTTP: ``POST /webhooks/{source}?tenant=<tenant>``.

:class:`WebhookIngress` is a plain ASGI app in front of the web app. It answers webhook requests
itself and passes everything else (the review UI, the API, ``/openapi.json``) to the app behind it.
Webhooks are the one route that takes bursts of thousands of requests a second. Routing them through
FastAPI's dependency solving and Starlette's middleware stack cost more than verifying and storing
them (profile and figures in ``benchmarks/README.md``). The route is still documented in the app's
OpenAPI (:func:`document_webhook_route`), which schemathesis fuzzes.

At shutdown (the ASGI lifespan) the receiver commits what is queued before the app behind it stops."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI

from connectors.webhooks.receiver import Answer, Delivery, WebhookReceiver, error
from connectors.webhooks.route_docs import webhook_operation

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PREFIX = "/webhooks/"
PATH_TEMPLATE = "/webhooks/{source}"


class _Disconnected(Exception):
    """The client went away before its body arrived; there is nobody to answer."""


class WebhookIngress:
    """``app`` serves every other request; ``public_base_url`` is the scheme and host HubSpot is
    configured to call when a proxy sits in front (its v3 signature covers the full URI)."""

    def __init__(self, app: ASGIApp, receiver: WebhookReceiver, public_base_url: str | None = None) -> None:
        self.app = app
        self.receiver = receiver
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            source = _webhook_source(scope)
            if source is not None:
                await self._serve(scope, receive, send, source)
                return
        elif scope["type"] == "lifespan":
            await self.app(scope, self._drain_at_shutdown(receive), send)
            return
        await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, source: str) -> None:
        if scope["method"] != "POST":
            await _send(send, error(405, "method_not_allowed", "webhooks are delivered with POST",
                                    headers={"Allow": "POST"}))
            return
        tenants = [v for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                           keep_blank_values=True) if k == "tenant"]
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        try:
            body = await _read_bounded(receive, headers.get("content-length"),
                                       self.receiver.limits.max_body_bytes)
        except _Disconnected:
            return
        if len(tenants) != 1:
            await _send(send, error(400, "invalid_tenant_parameter",
                                    "the query parameter 'tenant' is required, exactly once"))
            return
        delivery = Delivery(source, tenants[0], headers, body, lambda: self._request_uri(scope, headers))
        try:
            answer = await self.receiver.receive(delivery)
        except Exception:  # a bug must still get an answer the sender retries, and a log line
            log.exception("webhook receiver failed: tenant=%r source=%r", tenants[0], source)
            answer = error(500, "internal_error", "the delivery was not stored; retry later")
        await _send(send, answer)

    def _request_uri(self, scope: Scope, headers: dict[str, str]) -> str:
        """The URI the sender signed: the public base URL (behind a proxy) or the one received, with
        the path and query exactly as sent."""
        path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        base = self.public_base_url
        if base is None:
            host = headers.get("host")
            if host is None:
                server_host, port = scope.get("server") or ("localhost", None)
                host = server_host if port in (None, 80, 443) else f"{server_host}:{port}"
            base = f"{scope.get('scheme', 'http')}://{host}"
        return f"{base}{path}" + (f"?{query}" if query else "")

    def _drain_at_shutdown(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.receiver.aclose()
            return message
        return wrapped


def _webhook_source(scope: Scope) -> str | None:
    """``source`` when the path is ``/webhooks/{source}`` (one non-empty segment), else None."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    if not path.startswith(PREFIX):
        return None
    source = path[len(PREFIX):]
    return source if source and "/" not in source else None


async def _read_bounded(receive: Receive, declared: str | None, max_bytes: int) -> bytes | None:
    """The raw body, or None as soon as it is known to exceed ``max_bytes`` (the rest is not read)."""
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, answer: Answer) -> None:
    body = answer.body()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def document_webhook_route(app: FastAPI, known_sources: set[str]) -> None:
    """Add ``POST /webhooks/{source}`` to the app's OpenAPI document (FastAPI documents only its own
    routes, and this one is served in front of them)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("paths", {})[PATH_TEMPLATE] = {"post": webhook_operation(known_sources)}
        return app.openapi_schema  # type: ignore[return-value]  # set by generate()

    app.openapi = openapi  # type: ignore[method-assign]


def with_webhook_ingress(app: FastAPI, receiver: WebhookReceiver,
                         public_base_url: str | None = None) -> WebhookIngress:
    """``app`` with the webhook receiver in front and its route in ``app``'s OpenAPI document."""
    document_webhook_route(app, set(receiver.known_sources))
    return WebhookIngress(app, receiver, public_base_url)
