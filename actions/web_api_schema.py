"""Request bodies of the review API and their OpenAPI: typed errors, self-contained schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from actions.contracts import ReviewVerdict

API_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated: send `Authorization: Bearer <token>` (OIDC or /api/token)."},
    403: {"description": "Your roles do not allow this (e.g. approving above your tier), or CSRF failed."},
    404: {"description": "No such proposal or tenant among those you may review."},
    409: {"description": "Conflict: already decided, arguments changed (digest), or window expired."},
    422: {"description": "Invalid request: unknown filter, missing rationale, invalid arguments."},
}


class DecisionRequest(BaseModel):
    """What a reviewer sends. Any ``reviewer`` field is ignored: identity comes from authentication."""

    model_config = ConfigDict(extra="ignore")

    verdict: ReviewVerdict
    rationale: str
    arguments_digest: str
    record_version: int | None = None


class EditRequest(BaseModel):
    """New arguments for the proposal version whose digest is given; it goes through policy again."""

    model_config = ConfigDict(extra="ignore")

    arguments: dict[str, Any]
    rationale: str
    arguments_digest: str


class InfoRequestBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    question: str


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
