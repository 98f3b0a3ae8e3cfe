"""Policy stage: classify every proposal awaiting policy and record each verdict once, in the ledger too."""

from __future__ import annotations

from typing import Protocol

from actions.store import OperationalStore
from decisioning.contracts import PolicyDecision, Proposal
from ledger.store import Ledger

POLICY_ACTOR = "revloop.policy"


class PolicyClassifier(Protocol):
    def classify(self, proposal: Proposal) -> PolicyDecision: ...


def classify_pending_proposals(store: OperationalStore, engine: PolicyClassifier,
                               ledger: Ledger) -> list[PolicyDecision]:
    """Returns the decisions recorded by this call (a proposal classified concurrently is skipped)."""
    recorded = []
    for proposal in store.pending_policy():
        decision = engine.classify(proposal)
        if not store.record_policy(decision):
            continue
        ledger.append(proposal.tenant, "policy.decided", POLICY_ACTOR, {
            "proposal_id": proposal.proposal_id, "proposal_version": proposal.version,
            "arguments_digest": proposal.arguments_digest, "outcome": decision.outcome.value,
            "policy_version": decision.policy_version, "reasons": decision.reasons,
            "errors": decision.errors, "error": bool(decision.errors),
            "decided_at": decision.decided_at.isoformat(),
        })
        recorded.append(decision)
    return recorded
