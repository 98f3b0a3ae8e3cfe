"""Cedar decides whether a caller may run a tool. Default deny, forbid wins, and it fails closed:
a policy set that does not load or validate, or any evaluation error, denies the call."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import cedarpy

from decisioning.contracts import RiskTier
from decisioning.tools.contracts import TIER_NUMBER, ToolSpec

DEFAULT_TOOL_POLICY_DIR = Path(__file__).resolve().parent / "policies"


@dataclass(frozen=True)
class ToolPrincipal:
    """Who calls the tools: ``name`` (e.g. ``bedrock-agent``, ``mcp-client``) and its clearance."""

    name: str
    max_tier: RiskTier = RiskTier.L1
    denied_domains: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ToolAuthorization:
    allowed: bool
    policy_version: str
    reasons: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class ToolPolicy:
    """Loads one ``*.cedarschema`` and the ``*.cedar`` files of ``policy_dir``; never raises on authorize."""

    def __init__(self, policy_dir: Path | None = None) -> None:
        self.policy_dir = Path(policy_dir) if policy_dir is not None else DEFAULT_TOOL_POLICY_DIR
        self.policy_version = ""
        self._policies: cedarpy.PolicySet | None = None
        self._schema: cedarpy.Schema | None = None
        self.problems: list[str] = []
        try:
            self._load()
        except Exception as exc:  # an unreadable policy dir must deny calls, not crash the agent
            self._policies = None
            self.problems.append(f"loading {self.policy_dir} failed: {type(exc).__name__}: {exc}")

    def _load(self) -> None:
        where = self.policy_dir
        schemas = sorted(where.glob("*.cedarschema")) if where.is_dir() else []
        policies = sorted(where.glob("*.cedar")) if where.is_dir() else []
        digest = hashlib.sha256()
        texts: dict[Path, str] = {}
        for path in [*schemas, *policies]:
            content = path.read_bytes()
            digest.update(f"{path.name}\0{len(content)}\0".encode() + content)
            texts[path] = content.decode()
        self.policy_version = digest.hexdigest()[:12]
        if len(schemas) != 1 or not policies:
            self.problems.append(f"{where} must hold exactly one *.cedarschema and at least one *.cedar file "
                                 f"(found {len(schemas)} and {len(policies)})")
            return
        schema_text = texts[schemas[0]]
        policy_text = "\n".join(texts[p] for p in policies)
        result = cedarpy.validate_policies(policy_text, schema_text)
        names = result.id_annotations_by_policy_id
        self.problems += [f"policy {names.get(e.policy_id) or e.policy_id}: {e.error}" for e in result.errors]
        if not result.validation_passed and not self.problems:
            self.problems.append("the tool policies do not validate against the schema")
        if not self.problems:
            self._schema = cedarpy.Schema.from_str(schema_text)
            self._policies = cedarpy.PolicySet.from_str(policy_text)

    def authorize(self, principal: ToolPrincipal, tool: ToolSpec, *, agent_paused: bool = False
                  ) -> ToolAuthorization:
        if self._policies is None or self._schema is None:
            return ToolAuthorization(False, self.policy_version,
                                     errors=self.problems or ["no tool policy loaded"])
        try:
            entities = [
                {"uid": {"type": "RevloopTools::Agent", "id": principal.name},
                 "attrs": {"max_tier": TIER_NUMBER[principal.max_tier],
                           "denied_domains": sorted(principal.denied_domains)}, "parents": []},
                {"uid": {"type": "RevloopTools::Tool", "id": tool.name},
                 "attrs": {"tier": TIER_NUMBER[tool.tier], "reads": tool.reads}, "parents": []},
            ]
            request = {
                "principal": {"type": "RevloopTools::Agent", "id": principal.name},
                "action": {"type": "RevloopTools::Action", "id": "CallTool"},
                "resource": {"type": "RevloopTools::Tool", "id": tool.name},
                "context": {"agent_paused": agent_paused},
            }
            result = cedarpy.is_authorized(request, self._policies, entities, schema=self._schema)
        except Exception as exc:  # fail closed
            return ToolAuthorization(False, self.policy_version,
                                     errors=[f"tool policy evaluation failed: {type(exc).__name__}: {exc}"])
        names = result.diagnostics.id_annotations_by_reason
        reasons = [names.get(pid) or pid for pid in result.diagnostics.reasons]
        errors = list(result.diagnostics.errors)
        if errors or result.decision == cedarpy.Decision.NoDecision:
            return ToolAuthorization(False, self.policy_version, reasons,
                                     errors or ["Cedar reached no decision"])
        return ToolAuthorization(result.allowed, self.policy_version, reasons)
