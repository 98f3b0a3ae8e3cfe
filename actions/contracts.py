"""Human decisions on proposals and the results of executing them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ReviewVerdict(StrEnum):
    approve = "approve"
    reject = "reject"


class ReviewDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    decision_id: str
    proposal_id: str
    proposal_version: int
    tenant: str
    verdict: ReviewVerdict
    reviewer: str  # from authentication, never from the request body
    rationale: str = Field(min_length=1)
    arguments_digest: str  # the proposal arguments the reviewer saw
    decided_at: datetime
    # The CRM record version the reviewer saw (crm.update_field); the write is refused if it moved.
    record_version: int | None = None
    # Until when an approval may be used by the executor (None on rejections and older decisions).
    expires_at: datetime | None = None


class ActionStatus(StrEnum):
    succeeded = "succeeded"
    failed = "failed"


class ActionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    idempotency_key: str
    proposal_id: str
    tenant: str
    action_type: str
    status: ActionStatus
    external_ids: dict[str, str] = Field(default_factory=dict)
    before: dict[str, Any] = Field(default_factory=dict)
    after: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    executed_at: datetime
    proposal_version: int | None = None
    authorized_by: str | None = None  # "review:<decision_id>" or "policy:<policy_version>"
