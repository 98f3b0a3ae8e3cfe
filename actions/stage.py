"""Policy stage: classify every proposal awaiting policy and record each verdict once, in the ledger too.

The controls (kill switches, budgets) are read at every classification, so a switch flipped with
``revloop policy kill`` stops the very next proposal. The ledger entry holds everything Cedar saw
(principal, actions, resource and tenant attributes, context), the policy version, the outcome, the
determining policy ids and any error: a backtest replays a candidate policy set over exactly this."""

from __future__ import annotations

from typing import Protocol

from actions.store import OperationalStore
from decisioning.contracts import PolicyDecision, Proposal
from decisioning.controls import Controls
from decisioning.policy import PolicyEvaluation
from decisioning.policy_context import ControlState
from ledger.store import Ledger

POLICY_ACTOR = "revloop.policy"
POLICY_DECIDED = "policy.decided"


class PolicyEvaluator(Protocol):
    def evaluate(self, proposal: Proposal, controls: ControlState | None = None) -> PolicyEvaluation: ...


def classify_pending_proposals(store: OperationalStore, engine: PolicyEvaluator, ledger: Ledger,
                               controls: Controls | None = None) -> list[PolicyDecision]:
    """Returns the decisions recorded by this call (a proposal classified concurrently is skipped).

    ``controls`` defaults to the kill switches and budgets kept in the store's own database."""
    controls = controls or Controls(store.engine.url.render_as_string(hide_password=False), ledger)
    recorded = []
    for proposal in store.pending_policy():
        state = controls.state(proposal.tenant, proposal.action_type,
                               exclude=(proposal.proposal_id, proposal.version))
        evaluation = engine.evaluate(proposal, state)
        decision = evaluation.decision
        if not store.record_policy(decision):
            continue
        ledger.append(proposal.tenant, POLICY_DECIDED, POLICY_ACTOR, policy_decided_payload(
            proposal, evaluation))
        controls.charge(decision, proposal)
        recorded.append(decision)
    return recorded


def policy_decided_payload(proposal: Proposal, evaluation: PolicyEvaluation) -> dict[str, object]:
    decision = evaluation.decision
    return {
        "proposal_id": proposal.proposal_id, "proposal_version": proposal.version,
        "action_type": proposal.action_type.value, "arguments_digest": proposal.arguments_digest,
        "outcome": decision.outcome.value, "policy_version": decision.policy_version,
        "reasons": decision.reasons, "errors": decision.errors, "error": bool(decision.errors),
        "decided_at": decision.decided_at.isoformat(), "inputs": evaluation.inputs,
        "elapsed_ms": round(evaluation.elapsed_ms, 3), "trace_id": proposal.trace_id,
    }
