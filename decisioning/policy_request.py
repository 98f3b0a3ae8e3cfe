"""The Cedar request for one proposal: principal, resource and tenant entities, one request per action."""

from __future__ import annotations

import math
from typing import Any

from decisioning.actions import ACTION_RISK_FLOOR
from decisioning.contracts import ActionType, Proposal, RiskTier
from decisioning.policy_tenants import cents

AUTO_EXECUTE = "auto_execute"
EXECUTE_WITH_APPROVAL = "execute_with_approval"
ACTIONS = (AUTO_EXECUTE, EXECUTE_WITH_APPROVAL)
AGENT_TYPE = "Revloop::Agent"
PROPOSAL_TYPE = "Revloop::Proposal"
TENANT_TYPE = "Revloop::Tenant"
_TIER_NUMBER = {RiskTier.L0: 0, RiskTier.L1: 1, RiskTier.L2: 2, RiskTier.L3: 3}


def resource_attributes(proposal: Proposal, arguments: dict[str, Any]) -> dict[str, Any]:
    """The Revloop::Proposal attributes the policies read (see revloop.cedarschema), the tenant as its id."""
    action_type = ActionType(proposal.action_type)
    # An action type without a declared floor is treated as L3 (never executed) until it gets one.
    floor = ACTION_RISK_FLOOR.get(action_type, RiskTier.L3)
    tier = max(_TIER_NUMBER[RiskTier(proposal.risk_tier)], _TIER_NUMBER[floor])
    field = str(arguments["field"]).lower() if action_type == ActionType.crm_update_field else ""
    return {
        "tenant": proposal.tenant,
        "action_type": action_type.value,
        "risk_tier": tier,
        # round() first so 0.7 stays 70 despite binary floating point; floor so 69.9% is not 70%.
        "confidence_pct": math.floor(round(proposal.confidence * 100, 6)),
        "field": field,
        "cost_cents": cents(proposal.cost_estimate_usd),
    }


def entities(proposal: Proposal, attributes: dict[str, Any],
             tenant_attributes: dict[str, Any]) -> list[dict[str, Any]]:
    tenant_uid = {"type": TENANT_TYPE, "id": proposal.tenant}
    return [
        {"uid": {"type": AGENT_TYPE, "id": proposal.agent}, "attrs": {}, "parents": []},
        {"uid": tenant_uid, "attrs": tenant_attributes, "parents": []},
        {"uid": {"type": PROPOSAL_TYPE, "id": proposal.proposal_id},
         "attrs": {**attributes, "tenant": {"__entity": tenant_uid}}, "parents": [tenant_uid]},
    ]


def request(proposal: Proposal, action: str, context: dict[str, Any]) -> dict[str, Any]:
    return {
        "principal": {"type": AGENT_TYPE, "id": proposal.agent},
        "action": {"type": "Revloop::Action", "id": action},
        "resource": {"type": PROPOSAL_TYPE, "id": proposal.proposal_id},
        "context": context,
    }
