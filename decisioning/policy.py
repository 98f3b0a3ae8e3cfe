"""Cedar, evaluated in-process: is a proposal automatic, in need of a human, or forbidden?

Fails closed: a policy set that does not load or validate, a proposal whose arguments do not fit their
schema, an entity or context Cedar rejects, an evaluation error in any policy, an evaluation slower than
the deadline, or any exception -> forbidden, with the errors recorded."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cedarpy

from decisioning.actions import validate_arguments
from decisioning.contracts import PolicyDecision, PolicyOutcome, Proposal
from decisioning.policy_context import ControlState, cedar_context
from decisioning.policy_deadline import EvaluationTimeoutError, call_with_deadline
from decisioning.policy_request import (
    ACTIONS,
    AGENT_TYPE,
    AUTO_EXECUTE,
    EXECUTE_WITH_APPROVAL,
    PROPOSAL_TYPE,
    entities,
    request,
    resource_attributes,
)
from decisioning.policy_set import LoadedPolicySet, load_policy_set

DEFAULT_POLICY_DIR = Path(__file__).resolve().parent / "policies"
DEFAULT_TIMEOUT_S = 2.0

__all__ = ["AUTO_EXECUTE", "DEFAULT_POLICY_DIR", "EXECUTE_WITH_APPROVAL", "CedarPolicyEngine",
           "PolicyEvaluation"]


@dataclass(frozen=True)
class PolicyEvaluation:
    """A decision with the exact inputs Cedar saw (principal, resource, tenant, context), for the ledger."""

    decision: PolicyDecision
    inputs: dict[str, Any]
    elapsed_ms: float


class CedarPolicyEngine:
    """Loads ``*.cedarschema`` (exactly one), ``*.cedar`` and ``tenants.json`` from ``policy_dir``;
    ``classify``/``evaluate`` never raise."""

    def __init__(self, policy_dir: Path | None = None, clock: Callable[[], datetime] | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.policy_dir = Path(policy_dir) if policy_dir is not None else DEFAULT_POLICY_DIR
        self.clock = clock or (lambda: datetime.now(UTC))
        self.timeout_s = timeout_s
        self.policy_set: LoadedPolicySet = load_policy_set(self.policy_dir)

    @property
    def policy_version(self) -> str:
        """First 12 hex of a SHA-256 over every schema, policy and tenants file's name and bytes."""
        return self.policy_set.version

    @property
    def policy_ids(self) -> list[str]:
        return sorted(self.policy_set.effects)

    def validate(self) -> list[str]:
        """Every problem (parse, schema validation, @id annotations, tenants.json) and every warning
        (prefixed ``warning:``); [] when sound."""
        return [*self.policy_set.errors, *(f"warning: {w}" for w in self.policy_set.warnings)]

    def classify(self, proposal: Proposal, *, automation_paused: bool = False,
                 controls: ControlState | None = None) -> PolicyDecision:
        """automatic if auto_execute is allowed, else needs_approval if execute_with_approval is, else
        forbidden. ``automation_paused`` forces a human in the loop on top of ``controls``."""
        return self.evaluate(proposal, controls, automation_paused=automation_paused).decision

    def evaluate(self, proposal: Proposal, controls: ControlState | None = None, *,
                 automation_paused: bool = False, context: dict[str, Any] | None = None) -> PolicyEvaluation:
        """Classify with the controls in force. ``context`` replaces the Cedar context outright (a
        backtest replays the context recorded at the time)."""
        state = controls or ControlState()
        cedar_ctx = (context if context is not None
                     else cedar_context(state, automation_paused=automation_paused))
        inputs: dict[str, Any] = {
            "principal": {"type": AGENT_TYPE, "id": proposal.agent}, "actions": list(ACTIONS),
            "resource": {"type": PROPOSAL_TYPE, "id": proposal.proposal_id, "attrs": None},
            "tenant": {"id": proposal.tenant, "attrs": None},
            "context": cedar_ctx, "controls": state.record() if context is None else None,
        }
        started = time.perf_counter()
        try:
            outcome, reasons, errors = self._evaluate(proposal, cedar_ctx, inputs)
        except EvaluationTimeoutError as exc:
            outcome, reasons, errors = PolicyOutcome.forbidden, [], [str(exc)]
        except Exception as exc:  # fail closed: nothing the engine hits may let a proposal through
            outcome, reasons, errors = (PolicyOutcome.forbidden, [],
                                        [f"policy evaluation failed: {type(exc).__name__}: {exc}"])
        decision = PolicyDecision(
            proposal_id=proposal.proposal_id, proposal_version=proposal.version, tenant=proposal.tenant,
            outcome=outcome, policy_version=self.policy_version, reasons=list(dict.fromkeys(reasons)),
            errors=errors, decided_at=self.clock(),
        )
        return PolicyEvaluation(decision, inputs, (time.perf_counter() - started) * 1000)

    def _evaluate(self, proposal: Proposal, context: dict[str, Any],
                  inputs: dict[str, Any]) -> tuple[PolicyOutcome, list[str], list[str]]:
        loaded = self.policy_set
        if not loaded.usable:
            return PolicyOutcome.forbidden, [], loaded.errors or ["the policy set is not loaded"]
        try:
            arguments = validate_arguments(proposal.action_type, proposal.arguments)
        except ValueError as exc:
            return PolicyOutcome.forbidden, [], [str(exc)]
        attributes = resource_attributes(proposal, arguments)
        tenant_attributes = loaded.tenants.for_tenant(proposal.tenant).entity_attributes()
        inputs["resource"]["attrs"] = attributes
        inputs["tenant"]["attrs"] = tenant_attributes
        requests = [request(proposal, action, context) for action in ACTIONS]
        found = entities(proposal, attributes, tenant_attributes)
        policies, schema = loaded.policies, loaded.schema
        auto, approval = call_with_deadline(
            lambda: cedarpy.is_authorized_batch(requests, policies, found, schema=schema), self.timeout_s)
        errors: list[str] = []
        for name, result in ((AUTO_EXECUTE, auto), (EXECUTE_WITH_APPROVAL, approval)):
            # Cedar skips a policy whose evaluation errors: an erroring forbid must not let a permit through.
            errors += [f"{name}: {self._named(err)}" for err in result.diagnostics.errors]
            if result.decision == cedarpy.Decision.NoDecision and not result.diagnostics.errors:
                errors.append(f"{name}: Cedar reached no decision")
        if errors:
            return PolicyOutcome.forbidden, [], errors
        if auto.allowed:
            return PolicyOutcome.automatic, _policy_ids(auto), []
        if approval.allowed:
            return PolicyOutcome.needs_approval, _policy_ids(approval) + _policy_ids(auto), []
        return PolicyOutcome.forbidden, _policy_ids(approval), []

    def _named(self, error: str) -> str:
        names = self.policy_set.names
        return re.sub(r"policy `(policy\d+)`",
                      lambda m: f"policy `{names.get(m.group(1), m.group(1))}`", error)


def _policy_ids(result: cedarpy.AuthzResult) -> list[str]:
    names = result.diagnostics.id_annotations_by_reason
    return [names.get(pid) or pid for pid in result.diagnostics.reasons]
