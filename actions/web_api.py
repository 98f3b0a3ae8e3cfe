"""The JSON API of the review service. Errors are typed: {"error": {"code", "message"}}."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from actions.auth import Reviewer
from actions.errors import ActionsError, InvalidArgumentsError
from actions.status import StoredProposal
from actions.views import UnknownStatusError, detail_json, evidence_items, status_filter, summary_json
from actions.views_crm import crm_changes
from actions.views_inbox import UnknownFilterError, inbox_rows, parse_older_than, parse_sla
from actions.web_api_schema import (
    AGE_FILTERS,
    API_ERRORS,
    BEARER_OR_SESSION,
    DECISION_BODY,
    DETAIL_LINKS,
    EDIT_BODY,
    INFO_BODY,
    LIST_LINKS,
    SESSION_ONLY,
    SLA_FILTERS,
    STATUS_CHOICES,
    TOKEN_ERRORS,
    DecisionRequest,
    EditRequest,
    InfoRequestBody,
)
from actions.web_context import NO_ROLE, ReviewWeb
from actions.web_detail import refuse_decision, refuse_role

CSRF_HEADER = "x-csrf-token"


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _typed(exc: ActionsError) -> JSONResponse:
    return error(exc.http_status, exc.code, exc.message)


def build_api_routes(web: ReviewWeb) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["review API"], responses=API_ERRORS)

    def authenticated(request: Request, writes: bool = False) -> Reviewer | JSONResponse:
        caller = web.auth.identify(request)
        if caller.reviewer is None:
            message = caller.problem or "log in at /login or send a bearer token from /api/token"
            return error(401, "not_authenticated", message, headers={"WWW-Authenticate": "Bearer"})
        if not caller.reviewer.roles:
            return error(403, "forbidden_role", NO_ROLE)
        if writes and not caller.by_token and not web.auth.check_csrf(
                caller.reviewer, request.headers.get(CSRF_HEADER)):
            return error(403, "csrf_token_invalid", "with a session cookie, send the page's CSRF token "
                         "in X-CSRF-Token, or use a bearer token")
        return caller.reviewer

    async def body_of(request: Request, model: type[BaseModel]) -> Any:
        try:
            return model.model_validate(json.loads(await request.body() or b"null"))
        except (ValueError, ValidationError) as exc:
            fields = ", ".join(model.model_fields)
            return error(422, "invalid_request", f"expected a JSON object with {{{fields}}}: {exc}")

    async def write(request: Request, proposal_id: str, model: type[BaseModel],
                    verb: str | None) -> tuple[Reviewer, StoredProposal, Any] | JSONResponse:
        """Authenticated (CSRF for cookies), a valid body, the proposal in one of the caller's tenants,
        and the role to ``verb`` proposals (None: the endpoint checks the role itself)."""
        reviewer = authenticated(request, writes=True)
        if isinstance(reviewer, JSONResponse):
            return reviewer
        body = await body_of(request, model)
        if isinstance(body, JSONResponse):
            return body
        try:
            stored = web.load(reviewer, proposal_id)
        except ActionsError as exc:
            return _typed(exc)
        if verb is not None and not reviewer.may_decide():
            return error(403, "forbidden_role", refuse_role(reviewer, verb))
        return reviewer, stored, body

    @router.get("/token", summary="A bearer token for the logged-in local user (session cookie required)",
                operation_id="issue_token", dependencies=SESSION_ONLY, responses=TOKEN_ERRORS)
    def token(request: Request) -> JSONResponse:
        reviewer = web.auth.from_session(request)
        if reviewer is None:
            return error(401, "not_authenticated", "log in at /login first",
                         headers={"WWW-Authenticate": "Bearer"})
        if not reviewer.roles:
            return error(403, "forbidden_role", NO_ROLE)
        if reviewer.via != "local":
            return error(400, "use_identity_provider_token", "signed in through the identity provider: "
                         "send its access or ID token as the bearer token")
        return JSONResponse({"token": web.auth.issue_token(reviewer.username), "token_type": "bearer",
                             "reviewer": reviewer.username, "expires_in": web.auth.max_age_seconds})

    @router.get("/me", summary="Who you are: identity, tenants, roles and the highest tier you may approve",
                operation_id="me", dependencies=BEARER_OR_SESSION)
    def me(request: Request) -> JSONResponse:
        reviewer = authenticated(request)
        if isinstance(reviewer, JSONResponse):
            return reviewer
        ceiling = reviewer.approval_ceiling
        return JSONResponse({"reviewer": reviewer.username, "via": reviewer.via,
                             "tenants": sorted(reviewer.tenants), "roles": reviewer.role_names,
                             "may_approve_up_to": ceiling.value if ceiling else None})

    @router.get("/proposals", summary="Proposals of one tenant, filtered (default: pending), urgent first",
                operation_id="list_proposals", dependencies=BEARER_OR_SESSION, responses=LIST_LINKS)
    def list_proposals(request: Request, tenant: str | None = None,
                       status: str | None = Query(None, json_schema_extra=STATUS_CHOICES),
                       action_type: str | None = None, risk_tier: str | None = None,
                       account_id: str | None = None,
                       older_than: str | None = Query(None, json_schema_extra=AGE_FILTERS),
                       sla: str | None = Query(None, json_schema_extra=SLA_FILTERS)) -> JSONResponse:
        reviewer = authenticated(request)
        if isinstance(reviewer, JSONResponse):
            return reviewer
        try:
            chosen = web.tenant_for(reviewer, tenant)
            wanted, min_age, sla_state = status_filter(status), parse_older_than(older_than), parse_sla(sla)
        except ActionsError as exc:
            return _typed(exc)
        except (UnknownStatusError, UnknownFilterError) as exc:
            return error(422, "unknown_filter", str(exc))
        now = web.now()
        items = web.store.list(chosen, status=wanted, action_type=action_type or None,
                               risk_tier=risk_tier or None, account_id=account_id or None)
        rows = inbox_rows(items, now, web.ttl, min_age, sla_state)
        return JSONResponse({"tenant": chosen, "status": status or "pending", "proposals": [
            {**summary_json(stored, now, web.ttl), "sla": None if timer is None else {
                "state": timer.state.value, "waited_seconds": int(timer.waited.total_seconds()),
                "window_seconds": int(timer.window.total_seconds())}} for stored, timer in rows]})

    @router.get("/proposals/{proposal_id}", summary="One proposal: evidence, CRM changes, decisions, result",
                operation_id="get_proposal", dependencies=BEARER_OR_SESSION, responses=DETAIL_LINKS)
    def get_proposal(proposal_id: str, request: Request) -> JSONResponse:
        reviewer = authenticated(request)
        if isinstance(reviewer, JSONResponse):
            return reviewer
        try:
            stored = web.load(reviewer, proposal_id)
        except ActionsError as exc:
            return _typed(exc)
        evidence = evidence_items(stored.proposal, web.signal_lookup)
        changes = crm_changes(stored.proposal, web.record_lookup)
        return JSONResponse(detail_json(stored, web.now(), web.ttl, evidence, changes))

    @router.post("/proposals/{proposal_id}/decisions", status_code=201, openapi_extra=DECISION_BODY,
                 operation_id="decide_proposal", dependencies=BEARER_OR_SESSION,
                 summary="Approve or reject a proposal awaiting review (once, bound to its digest)")
    async def decide(proposal_id: str, request: Request) -> JSONResponse:
        got = await write(request, proposal_id, DecisionRequest, None)
        if isinstance(got, JSONResponse):
            return got
        reviewer, stored, body = got
        refusal = refuse_decision(reviewer, stored, body.verdict)
        if refusal:
            return error(403, "forbidden_role", refusal)
        try:
            decision = web.review.decide(stored.tenant, proposal_id, body.verdict, reviewer.username,
                                         body.rationale, body.arguments_digest, body.record_version)
        except ActionsError as exc:
            return _typed(exc)
        return JSONResponse(decision.model_dump(mode="json"), status_code=201)

    @router.post("/proposals/{proposal_id}/edits", status_code=201, openapi_extra=EDIT_BODY,
                 operation_id="edit_proposal", dependencies=BEARER_OR_SESSION,
                 summary="Edit the arguments: a new version that goes through policy again")
    async def edit(proposal_id: str, request: Request) -> JSONResponse:
        got = await write(request, proposal_id, EditRequest, "edit")
        if isinstance(got, JSONResponse):
            return got
        reviewer, stored, body = got
        if body.arguments_digest != stored.proposal.arguments_digest:
            return error(409, "arguments_digest_mismatch", f"proposal {proposal_id} changed since you "
                         "loaded it: fetch the newest version and edit that")
        try:
            edited = web.review.edit(stored.tenant, proposal_id, reviewer.username, body.arguments,
                                     body.rationale)
        except InvalidArgumentsError as exc:
            return JSONResponse({"error": {"code": exc.code, "message": exc.message,
                                           "problems": exc.problems}}, status_code=exc.http_status)
        except ActionsError as exc:
            return _typed(exc)
        return JSONResponse({"proposal_id": edited.proposal_id, "version": edited.version,
                             "arguments": edited.arguments, "arguments_digest": edited.arguments_digest,
                             "status": "pending_policy"}, status_code=201)

    @router.post("/proposals/{proposal_id}/info-requests", status_code=201, openapi_extra=INFO_BODY,
                 operation_id="request_info", dependencies=BEARER_OR_SESSION,
                 summary="Ask a question before deciding; the proposal waits for the answer")
    async def request_info(proposal_id: str, request: Request) -> JSONResponse:
        got = await write(request, proposal_id, InfoRequestBody, "ask for information on")
        if isinstance(got, JSONResponse):
            return got
        reviewer, stored, body = got
        try:
            web.review.request_info(stored.tenant, proposal_id, reviewer.username, body.question)
        except ActionsError as exc:
            return _typed(exc)
        return JSONResponse({"proposal_id": proposal_id, "status": "info_requested",
                             "question": body.question.strip()}, status_code=201)

    return router
