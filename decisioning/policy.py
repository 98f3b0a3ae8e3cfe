"""Cedar, evaluated in-process: is a proposal automatic, in need of a human, or forbidden?

Fails closed: a policy set that does not load or validate, a proposal whose arguments do not fit their
schema, an evaluation error in any policy, or any exception -> forbidden, with the errors recorded."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cedarpy

from decisioning.actions import ACTION_RISK_FLOOR, validate_arguments
from decisioning.contracts import ActionType, PolicyDecision, PolicyOutcome, Proposal, RiskTier

DEFAULT_POLICY_DIR = Path(__file__).resolve().parent / "policies"
AUTO_EXECUTE = "auto_execute"
EXECUTE_WITH_APPROVAL = "execute_with_approval"
_TIER_NUMBER = {RiskTier.L0: 0, RiskTier.L1: 1, RiskTier.L2: 2, RiskTier.L3: 3}


class CedarPolicyEngine:
    """Loads ``*.cedarschema`` (exactly one) and ``*.cedar`` from ``policy_dir``; never raises on classify."""

    def __init__(self, policy_dir: Path | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.policy_dir = Path(policy_dir) if policy_dir is not None else DEFAULT_POLICY_DIR
        self.clock = clock or (lambda: datetime.now(UTC))
        self._policy_text = ""
        self._schema_text = ""
        self._policies: cedarpy.PolicySet | None = None
        self._schema: cedarpy.Schema | None = None
        self._load_errors: list[str] = []
        self._policy_names: dict[str, str] = {}  # Cedar's positional id ("policy3") -> @id
        self.policy_version = ""
        try:
            self._load()
        except Exception as exc:  # an unreadable directory must not crash the loop: classify forbids
            self._policies = None
            self._load_errors.append(f"loading {self.policy_dir} failed: {type(exc).__name__}: {exc}")

    def _load(self) -> None:
        where = self.policy_dir
        schemas = sorted(where.glob("*.cedarschema")) if where.is_dir() else []
        policies = sorted(where.glob("*.cedar")) if where.is_dir() else []
        contents = {path: path.read_bytes() for path in [*schemas, *policies]}
        digest = hashlib.sha256()
        for path, content in contents.items():
            digest.update(f"{path.name}\0{len(content)}\0".encode())
            digest.update(content)
        self.policy_version = digest.hexdigest()[:12]
        if len(schemas) != 1:
            self._load_errors.append(f"{where} must hold exactly one *.cedarschema file, "
                                     f"found {len(schemas)}")
        if not policies:
            self._load_errors.append(f"{where} holds no *.cedar policy files")
        if self._load_errors:
            return
        try:
            self._schema_text = contents[schemas[0]].decode()
            self._schema = cedarpy.Schema.from_str(self._schema_text)
        except ValueError as exc:  # UnicodeDecodeError is a ValueError too
            self._load_errors.append(f"{schemas[0].name} does not parse: {exc}")
        for path in policies:
            try:
                text = contents[path].decode()
                cedarpy.PolicySet.from_str(text)
            except ValueError as exc:
                self._load_errors.append(f"{path.name} does not parse: {exc}")
                continue
            self._policy_text += f"// {path.name}\n{text}\n"
        if self._load_errors:
            return
        self._policies = cedarpy.PolicySet.from_str(self._policy_text)
        self._load_errors.extend(self._validation_problems())

    def _validation_problems(self) -> list[str]:
        result = cedarpy.validate_policies(self._policy_text, self._schema_text)
        names = result.id_annotations_by_policy_id
        problems = [f"policy {names.get(e.policy_id, e.policy_id) or e.policy_id}: {e.error}"
                    for e in result.errors]
        if not result.validation_passed and not problems:
            problems.append("the policies do not validate against the schema")
        seen: dict[str, str] = {}
        est = json.loads(cedarpy.policies_to_json_str(self._policy_text))
        for policy_id, policy in {**est.get("staticPolicies", {}), **est.get("templates", {})}.items():
            annotation = (policy.get("annotations") or {}).get("id")
            if annotation:
                self._policy_names[policy_id] = annotation
            if not annotation:
                problems.append(f"policy {policy_id} has no @id annotation; decisions cite policies by @id")
            elif annotation in seen:
                problems.append(f"@id({annotation!r}) is used by two policies")
            else:
                seen[annotation] = policy_id
        if est.get("templates"):
            problems.append("templates are not supported: every policy must be static")
        return problems

    def validate(self) -> list[str]:
        """Every problem with the policy set (parse, schema validation, @id annotations); [] when sound."""
        if self._load_errors or self._policies is None:
            return list(self._load_errors)
        return self._validation_problems()

    def classify(self, proposal: Proposal, *, automation_paused: bool = False) -> PolicyDecision:
        """automatic if auto_execute is allowed, else needs_approval if execute_with_approval is, else
        forbidden. ``automation_paused`` is the tenant's kill switch."""
        try:
            if self._load_errors or self._policies is None or self._schema is None:
                return self._decision(proposal, PolicyOutcome.forbidden, [], self._load_errors or
                                      ["the policy set is not loaded"])
            return self._evaluate(proposal, automation_paused)
        except Exception as exc:  # fail closed: nothing the engine hits may let a proposal through
            return self._decision(proposal, PolicyOutcome.forbidden, [],
                                  [f"policy evaluation failed: {type(exc).__name__}: {exc}"])

    def _evaluate(self, proposal: Proposal, automation_paused: bool) -> PolicyDecision:
        try:
            arguments = validate_arguments(proposal.action_type, proposal.arguments)
        except ValueError as exc:
            return self._decision(proposal, PolicyOutcome.forbidden, [], [str(exc)])
        entities = [
            {"uid": {"type": "Revloop::Agent", "id": proposal.agent}, "attrs": {}, "parents": []},
            {"uid": {"type": "Revloop::Proposal", "id": proposal.proposal_id},
             "attrs": self.resource_attributes(proposal, arguments), "parents": []},
        ]
        requests = [self._request(proposal, action, automation_paused)
                    for action in (AUTO_EXECUTE, EXECUTE_WITH_APPROVAL)]
        auto, approval = cedarpy.is_authorized_batch(requests, self._policies, entities, schema=self._schema)
        errors: list[str] = []
        for name, result in ((AUTO_EXECUTE, auto), (EXECUTE_WITH_APPROVAL, approval)):
            errors += [f"{name}: {self._named(err)}" for err in result.diagnostics.errors]
            if result.decision == cedarpy.Decision.NoDecision and not result.diagnostics.errors:
                errors.append(f"{name}: Cedar reached no decision")
        if errors:
            return self._decision(proposal, PolicyOutcome.forbidden, [], errors)
        if auto.allowed:
            return self._decision(proposal, PolicyOutcome.automatic, _policy_ids(auto), [])
        if approval.allowed:
            return self._decision(proposal, PolicyOutcome.needs_approval,
                                  _policy_ids(approval) + _policy_ids(auto), [])
        return self._decision(proposal, PolicyOutcome.forbidden, _policy_ids(approval), [])

    def _named(self, error: str) -> str:
        return re.sub(r"policy `(policy\d+)`",
                      lambda m: f"policy `{self._policy_names.get(m.group(1), m.group(1))}`", error)

    @staticmethod
    def resource_attributes(proposal: Proposal, arguments: dict[str, Any]) -> dict[str, Any]:
        """The Revloop::Proposal attributes the policies read (see revloop.cedarschema)."""
        action_type = ActionType(proposal.action_type)
        tier = max(_TIER_NUMBER[RiskTier(proposal.risk_tier)], _TIER_NUMBER[ACTION_RISK_FLOOR[action_type]])
        field = str(arguments["field"]).lower() if action_type == ActionType.crm_update_field else ""
        return {
            "tenant": proposal.tenant,
            "action_type": action_type.value,
            "risk_tier": tier,
            # round() first so 0.7 stays 70 despite binary floating point; floor so 69.9% is not 70%.
            "confidence_pct": math.floor(round(proposal.confidence * 100, 6)),
            "field": field,
        }

    @staticmethod
    def _request(proposal: Proposal, action: str, automation_paused: bool) -> dict[str, Any]:
        return {
            "principal": {"type": "Revloop::Agent", "id": proposal.agent},
            "action": {"type": "Revloop::Action", "id": action},
            "resource": {"type": "Revloop::Proposal", "id": proposal.proposal_id},
            "context": {"automation_paused": automation_paused},
        }

    def _decision(self, proposal: Proposal, outcome: PolicyOutcome, reasons: list[str],
                  errors: list[str]) -> PolicyDecision:
        return PolicyDecision(
            proposal_id=proposal.proposal_id, proposal_version=proposal.version, tenant=proposal.tenant,
            outcome=outcome, policy_version=self.policy_version, reasons=list(dict.fromkeys(reasons)),
            errors=list(errors), decided_at=self.clock(),
        )


def _policy_ids(result: cedarpy.AuthzResult) -> list[str]:
    names = result.diagnostics.id_annotations_by_reason
    return [names.get(pid) or pid for pid in result.diagnostics.reasons]
