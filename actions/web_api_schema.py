"""Request bodies of the review API and their OpenAPI: typed errors, self-contained schemas."""

from __future__ import annotations

from typing import Any

from fastapi import Security
from fastapi.security import APIKeyCookie, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from actions.auth import SESSION_COOKIE
from actions.contracts import ReviewVerdict
from actions.views import STATUS_FILTERS
from actions.views_inbox import AGE_CHOICES, SlaState

# How callers authenticate, for the OpenAPI document (clients and schemathesis read it). These never
# refuse a request: every route authenticates with ReviewerAuth itself, and answers 401 / 403.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearerAuth",
                    description="An OIDC access or ID token, or a local token from GET /api/token.")
SESSION = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="sessionCookie",
                       description="The review UI's session; writes also need its CSRF token in "
                                   "X-CSRF-Token.")
BEARER_OR_SESSION = [Security(BEARER), Security(SESSION)]
SESSION_ONLY = [Security(SESSION)]

# The inbox filters take these values only; empty means no filter. Documented as enums, parsed by the
# route itself, so a wrong value gets the API's typed 422 error.
STATUS_CHOICES = {"enum": ["", *STATUS_FILTERS]}
AGE_FILTERS = {"enum": ["", *AGE_CHOICES]}
SLA_FILTERS = {"enum": ["", *(s.value for s in SlaState)]}

# Stateful fuzzing follows these: a listed proposal's id feeds the routes that take one.
_FROM_LIST = "$response.body#/proposals/0/proposal_id"
LIST_LINKS = {200: {"description": "Successful Response", "links": {
    name: {"operationId": operation, "parameters": {"proposal_id": _FROM_LIST}}
    for name, operation in [("GetProposal", "get_proposal"), ("DecideProposal", "decide_proposal"),
                            ("EditProposal", "edit_proposal"), ("AskAboutProposal", "request_info")]}}}
DETAIL_LINKS = {200: {"description": "Successful Response", "links": {
    name: {"operationId": operation, "parameters": {"proposal_id": "$request.path.proposal_id"}}
    for name, operation in [("DecideProposal", "decide_proposal"), ("EditProposal", "edit_proposal"),
                            ("AskAboutProposal", "request_info")]}}}

API_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated: send `Authorization: Bearer <token>` (OIDC or /api/token)."},
    403: {"description": "Your roles do not allow this (e.g. approving above your tier), or CSRF failed."},
    404: {"description": "No such proposal or tenant among those you may review."},
    409: {"description": "Conflict: already decided, arguments changed (digest), or window expired."},
    422: {"description": "Invalid request: unknown filter, missing rationale, invalid arguments."},
}
TOKEN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Signed in through the identity provider: use its token as the bearer token."},
}


# Rationales and questions must say something: the service refuses blank ones with a typed 422
# (rationale_required, ...). Documented here, checked there, so the error stays the typed one.
SAID = {"minLength": 1, "pattern": r"\S"}


class DecisionRequest(BaseModel):
    """What a reviewer sends. Any ``reviewer`` field is ignored: identity comes from authentication."""

    model_config = ConfigDict(extra="ignore")

    verdict: ReviewVerdict
    rationale: str = Field(json_schema_extra=SAID)
    arguments_digest: str
    record_version: int | None = None


class EditRequest(BaseModel):
    """New arguments for the proposal version whose digest is given; it goes through policy again."""

    model_config = ConfigDict(extra="ignore")

    arguments: dict[str, Any]
    rationale: str = Field(json_schema_extra=SAID)
    arguments_digest: str


class InfoRequestBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    question: str = Field(json_schema_extra=SAID)


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


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    inlined = _inline_refs({k: v for k, v in schema.items() if k != "$defs"}, schema.get("$defs", {}))
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inlined}}}}


DECISION_BODY = request_body(DecisionRequest)
EDIT_BODY = request_body(EditRequest)
INFO_BODY = request_body(InfoRequestBody)
