"""The JSON API of the review service. Errors are typed: {"error": {"code", "message"}}."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from actions.auth import Reviewer
from actions.contracts import ReviewVerdict
from actions.errors import ActionsError
from actions.views import (
    UnknownStatusError,
    detail_json,
    evidence_items,
    field_preview,
    status_filter,
    summary_json,
)
from actions.web_context import ReviewWeb

CSRF_HEADER = "x-csrf-token"


class DecisionRequest(BaseModel):
    """What a reviewer sends. Any ``reviewer`` field is ignored: identity comes from authentication."""

    model_config = ConfigDict(extra="ignore")

    verdict: ReviewVerdict
    rationale: str
    arguments_digest: str
    record_version: int | None = None


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _typed(exc: ActionsError) -> JSONResponse:
    return error(exc.http_status, exc.code, exc.message)


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated: send `Authorization: Bearer <token>` (GET /api/token)."},
    404: {"description": "No such proposal or tenant among those you may review."},
    409: {"description": "Conflict: already decided, arguments changed (digest), or window expired."},
    422: {"description": "Invalid request: unknown status, missing rationale, malformed body."},
}

def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """OpenAPI resolves $ref from the document root, so pydantic's local $defs are inlined."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inline_refs(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    return node


_SCHEMA = DecisionRequest.model_json_schema()
_DECISION_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": _inline_refs({k: v for k, v in _SCHEMA.items() if k != "$defs"}, _SCHEMA.get("$defs", {}))}}}}


def build_api_routes(web: ReviewWeb) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["review API"], responses=_ERRORS)

    def caller(request: Request) -> tuple[Reviewer | None, bool]:
        """The reviewer, and whether they came by bearer token (no CSRF check needed)."""
        by_token = web.auth.from_bearer(request)
        if by_token is not None:
            return by_token, True
        return web.auth.from_session(request), False

    def unauthenticated() -> JSONResponse:
        return error(401, "not_authenticated", "log in at /login or send a bearer token from /api/token",
                     headers={"WWW-Authenticate": "Bearer"})

    @router.get("/token", summary="A bearer token for the logged-in reviewer (session cookie required)")
    def token(request: Request) -> JSONResponse:
        reviewer = web.auth.from_session(request)
        if reviewer is None:
            return unauthenticated()
        return JSONResponse({"token": web.auth.issue_token(reviewer.username), "token_type": "bearer",
                             "reviewer": reviewer.username, "expires_in": web.auth.max_age_seconds})

    @router.get("/proposals", summary="Proposals of one tenant, filtered by status (default: pending)")
    def list_proposals(request: Request, tenant: str | None = None, status: str | None = None,
                       action_type: str | None = None, risk_tier: str | None = None,
                       account_id: str | None = None) -> JSONResponse:
        reviewer, _ = caller(request)
        if reviewer is None:
            return unauthenticated()
        try:
            chosen = web.tenant_for(reviewer, tenant)
            wanted = status_filter(status)
        except ActionsError as exc:
            return _typed(exc)
        except UnknownStatusError as exc:
            return error(422, "unknown_status", str(exc))
        now = web.now()
        items = web.store.list(chosen, status=wanted, action_type=action_type, risk_tier=risk_tier,
                               account_id=account_id)
        return JSONResponse({"tenant": chosen, "status": status or "pending",
                             "proposals": [summary_json(s, now, web.ttl) for s in items]})

    @router.get("/proposals/{proposal_id}", summary="One proposal with evidence, decisions and result")
    def get_proposal(proposal_id: str, request: Request) -> JSONResponse:
        reviewer, _ = caller(request)
        if reviewer is None:
            return unauthenticated()
        try:
            stored = web.load(reviewer, proposal_id)
        except ActionsError as exc:
            return _typed(exc)
        evidence = evidence_items(stored.proposal, web.signal_lookup)
        preview = field_preview(stored.proposal, web.record_lookup)
        return JSONResponse(detail_json(stored, web.now(), web.ttl, evidence, preview))

    @router.post("/proposals/{proposal_id}/decisions", status_code=201, openapi_extra=_DECISION_BODY,
                 summary="Approve or reject a proposal awaiting review (once, bound to its digest)")
    async def decide(proposal_id: str, request: Request) -> JSONResponse:
        reviewer, by_token = caller(request)
        if reviewer is None:
            return unauthenticated()
        if not by_token and not web.auth.check_csrf(reviewer, request.headers.get(CSRF_HEADER)):
            return error(403, "csrf_token_invalid", "with a session cookie, send the page's CSRF token "
                         "in X-CSRF-Token, or use a bearer token")
        try:
            body = DecisionRequest.model_validate(json.loads(await request.body() or b"null"))
        except (ValueError, ValidationError) as exc:
            return error(422, "invalid_request", f"expected {{verdict, rationale, arguments_digest}}: {exc}")
        try:
            stored = web.load(reviewer, proposal_id)
            decision = web.review.decide(stored.tenant, proposal_id, body.verdict, reviewer.username,
                                         body.rationale, body.arguments_digest, body.record_version)
        except ActionsError as exc:
            return _typed(exc)
        return JSONResponse(decision.model_dump(mode="json"), status_code=201)

    return router
