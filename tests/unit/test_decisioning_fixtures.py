"""Builders shared by the decisioning tests (no tests here): signals, contexts, memory hits, proposals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from decisioning.contracts import ActionType, Citation, Proposal, RiskTier
from perception.contracts import Evidence, Severity, Signal, SignalKind
from world_model.contracts import AccountContext, ContactView, GraphPath, MemoryHit, OpportunityView

NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)

ENTITY_OF_KIND = {
    SignalKind.usage_drop: ("account", "acc_1"),
    SignalKind.champion_departed: ("contact", "con_7"),
    SignalKind.deal_slipped: ("opportunity", "opp_3"),
    SignalKind.stage_regression: ("opportunity", "opp_3"),
    SignalKind.expansion_intent: ("account", "acc_1"),
}


def fixed_clock() -> datetime:
    return NOW


def make_signal(kind: SignalKind, *, tenant: str = "acme", account_id: str = "acc_1",
                entity_id: str | None = None, severity: Severity = Severity.medium,
                narrative: str | None = None) -> Signal:
    entity_type, default_entity = ENTITY_OF_KIND[kind]
    entity = entity_id or (account_id if entity_type == "account" else default_entity)
    return Signal(
        tenant=tenant, account_id=account_id, entity_type=entity_type, entity_id=entity, kind=kind,
        severity=severity,
        evidence=[Evidence(object=f"{entity_type}s", entity_id=entity, field="x", before=1, after=2)],
        observed_at=NOW, source="demo", dedupe_key=f"{kind.value}:{entity}",
        narrative=narrative or f"{kind.value.replace('_', ' ')} on {entity}.",
    )


def make_context(*, tenant: str = "acme", account_id: str = "acc_1", name: str | None = "Initech",
                 owner: str | None = "ana@acme.example",
                 opportunities: list[str] | None = None) -> AccountContext:
    opps = ["opp_3"] if opportunities is None else opportunities
    return AccountContext(
        tenant=tenant, account_id=account_id, name=name, owner=owner,
        contacts=[ContactView(contact_id="con_7", name="Bea Chen", title="VP Ops", status="departed"),
                  ContactView(contact_id="con_8", name="Cal Diaz", title="Director IT", status="active")],
        champions=[ContactView(contact_id="con_8", name="Cal Diaz", role="champion")],
        open_opportunities=[OpportunityView(opportunity_id=o, name=f"Renewal {o}", stage="negotiation",
                                            amount=48000.0, close_date="2025-04-30") for o in opps],
        paths=[GraphPath(steps=[f"Account:{account_id}", "WORKS_AT", "Contact:con_7"]),
               GraphPath(steps=[f"Account:{account_id}", "HAS_OPPORTUNITY", "Opportunity:opp_3"])],
    )


def make_hit(doc_id: str = "mem_1", score: float = 0.8) -> MemoryHit:
    return MemoryHit(doc_id=doc_id, source="signal", account_id="acc_1",
                     snippet="Usage dipped last spring too; a call fixed it.", score=score)


def make_proposal(action_type: ActionType, arguments: dict[str, Any], *, risk_tier: RiskTier = RiskTier.L0,
                  confidence: float = 0.9, tenant: str = "acme") -> Proposal:
    return Proposal(
        proposal_id="prop_test", tenant=tenant, account_id="acc_1", action_type=action_type,
        arguments=arguments, rationale="test", evidence=[Citation(kind="signal", ref="sig_1")],
        confidence=confidence, risk_tier=risk_tier, expected_effect="test", cost_estimate_usd=0.0,
        agent="playbook", agent_version="test", trace_id="trace", created_at=NOW,
    )


NOTIFY_ARGS: dict[str, Any] = {"channel": "owner", "recipient": "ana@acme.example", "subject": "Heads up",
                               "message": "The deal slipped."}
BRIEF_ARGS: dict[str, Any] = {"title": "Expansion brief",
                              "sections": [{"heading": "Why now", "body": "Seats up."}]}
TASK_ARGS: dict[str, Any] = {"subject": "Check in", "body": "Usage fell.", "due_in_days": 3,
                             "owner": "ana@acme.example"}

ESCALATE_ARGS: dict[str, Any] = {"subject": "Initech needs you", "message": "Our champion left.",
                                 "exec_sponsor": "vp@vendor.example", "reason": "champion departed"}
RENEWAL_REVIEW_ARGS: dict[str, Any] = {"subject": "Renewal review: Initech", "renewal_date": "2025-06-30",
                                       "attendees": ["ana@acme.example", "con_8"],
                                       "agenda": ["Risks", "Next steps"]}


def update_args(field: str, value: Any = "pipeline") -> dict[str, Any]:
    return {"object": "opportunities", "record_id": "opp_3", "field": field, "value": value}
