"""The proposal contract (versioned) and the policy engine's verdict on it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# 2 added escalate.exec_sponsor, schedule.renewal_review and the version/trace fields below; a version-1
# payload (old ledgers) reads as version 2 with those fields at their defaults.
PROPOSAL_SCHEMA_VERSION = 2
READABLE_PROPOSAL_VERSIONS = (1, 2)


class ActionType(StrEnum):
    crm_create_task = "crm.create_task"
    crm_update_field = "crm.update_field"
    notify_owner = "notify.owner"
    draft_meeting_brief = "draft.meeting_brief"
    escalate_exec_sponsor = "escalate.exec_sponsor"
    schedule_renewal_review = "schedule.renewal_review"


class RiskTier(StrEnum):
    """L0 read-only .. L3 changes customer-visible or financial records."""

    L0 = "L0"
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"


class Citation(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["signal", "graph_path", "memory_hit"]
    ref: str  # signal id, path string, or memory doc id
    detail: str | None = None


class Proposal(BaseModel):
    """What the decision agent wants done, why, and on what evidence. Never executed directly."""

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[2] = PROPOSAL_SCHEMA_VERSION
    proposal_id: str
    version: int = 1
    tenant: str
    account_id: str
    action_type: ActionType
    arguments: dict[str, Any]
    rationale: str
    evidence: list[Citation] = Field(min_length=1)
    confidence: float = Field(ge=0.0, le=1.0)
    risk_tier: RiskTier
    expected_effect: str
    cost_estimate_usd: float = Field(ge=0.0)
    agent: str
    agent_version: str
    model: str | None = None
    prompt_version: str | None = None
    trace_id: str
    created_at: datetime
    # Version 2: what else the proposal was made under, and the digest of the decision's recorded inputs
    # (decisioning/agent.py DecisionRecord) so replay can find and check them.
    policy_version: str | None = None
    taxonomy_version: str | None = None
    inputs_digest: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_older_versions(cls, data: Any) -> Any:
        if isinstance(data, dict) and "schema_version" in data:
            version = data["schema_version"]
            if version not in READABLE_PROPOSAL_VERSIONS:
                raise ValueError(f"proposal schema_version {version!r} is not readable by this revloop "
                                 f"(reads {list(READABLE_PROPOSAL_VERSIONS)}); upgrade revloop")
            if version != PROPOSAL_SCHEMA_VERSION:
                data = {**data, "schema_version": PROPOSAL_SCHEMA_VERSION}
        return data

    @property
    def arguments_digest(self) -> str:
        """SHA-256 of the canonical arguments: what an approval is bound to."""
        canonical = json.dumps(self.arguments, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


class Abstention(BaseModel):
    """The agent chose not to propose, and says why (recorded in the ledger)."""

    tenant: str
    account_id: str
    signal_ids: list[str]
    reason: str
    trace_id: str | None = None
    agent: str | None = None
    agent_version: str | None = None
    inputs_digest: str | None = None


class PolicyOutcome(StrEnum):
    automatic = "automatic"
    needs_approval = "needs_approval"
    forbidden = "forbidden"


class PolicyDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    proposal_id: str
    proposal_version: int
    tenant: str
    outcome: PolicyOutcome
    policy_version: str
    reasons: list[str] = Field(default_factory=list)  # ids of the determining policies
    errors: list[str] = Field(default_factory=list)  # non-empty -> evaluation failed, denied closed
    decided_at: datetime
