"""The tool policy: each policy allows and denies as written, validates against its schema, fails closed."""

from __future__ import annotations

import shutil
from pathlib import Path

import cedarpy
import pytest

from decisioning.contracts import RiskTier
from decisioning.tools import ToolInput, ToolPolicy, ToolPrincipal, ToolSpec
from decisioning.tools.policy import DEFAULT_TOOL_POLICY_DIR


def tool(tier: RiskTier = RiskTier.L0, reads: str = "signals") -> ToolSpec:
    return ToolSpec(name="signals.list_recent", description="x", input_model=ToolInput, tier=tier,
                    handler=lambda tenant, args: {}, reads=reads)


AGENT = ToolPrincipal("bedrock-agent")  # cleared for L1


def test_the_shipped_policies_validate_against_the_schema_without_problems() -> None:
    policy = ToolPolicy()
    schema = next(DEFAULT_TOOL_POLICY_DIR.glob("*.cedarschema")).read_text()
    text = "\n".join(p.read_text() for p in sorted(DEFAULT_TOOL_POLICY_DIR.glob("*.cedar")))

    assert policy.problems == [] and len(policy.policy_version) == 12
    result = cedarpy.validate_policies(text, schema)
    assert result.validation_passed and not result.errors


# (policy @id, an allowed case, a denied case): every policy has both.
CASES = {
    "read-tools-within-clearance": (
        (AGENT, tool(RiskTier.L1), False),
        (ToolPrincipal("x", max_tier=RiskTier.L0), tool(RiskTier.L1), False)),
    "no-tool-that-writes": (
        (ToolPrincipal("x", max_tier=RiskTier.L3), tool(RiskTier.L1), False),
        (ToolPrincipal("x", max_tier=RiskTier.L3), tool(RiskTier.L2), False)),
    "no-denied-domains": (
        (ToolPrincipal("x", denied_domains=frozenset({"memory"})), tool(reads="signals"), False),
        (ToolPrincipal("x", denied_domains=frozenset({"memory"})), tool(reads="memory"), False)),
    "no-tools-while-agent-paused": ((AGENT, tool(), False), (AGENT, tool(), True)),
}


def test_every_shipped_policy_has_an_allow_and_a_deny_case() -> None:
    text = "\n".join(p.read_text() for p in DEFAULT_TOOL_POLICY_DIR.glob("*.cedar"))
    ids = {line.split('"')[1] for line in text.splitlines() if line.startswith("@id(")}
    assert ids == set(CASES)


@pytest.mark.parametrize("policy_id", sorted(CASES))
def test_each_policy_allows_and_denies(policy_id: str) -> None:
    policy = ToolPolicy()
    (allow_principal, allow_tool, allow_paused), (deny_principal, deny_tool, deny_paused) = CASES[policy_id]

    allowed = policy.authorize(allow_principal, allow_tool, agent_paused=allow_paused)
    denied = policy.authorize(deny_principal, deny_tool, agent_paused=deny_paused)

    assert allowed.allowed and not allowed.errors
    assert not denied.allowed and not denied.errors
    if policy_id.startswith("no-"):
        assert policy_id in denied.reasons
    else:
        assert policy_id in allowed.reasons and denied.reasons == []


def copy_policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(DEFAULT_TOOL_POLICY_DIR, target)
    return target


@pytest.mark.parametrize("breakage", ["syntax", "schema", "no_schema", "missing_dir", "unknown_attribute"])
def test_a_broken_policy_set_denies_every_call(tmp_path: Path, breakage: str) -> None:
    where = copy_policies(tmp_path)
    if breakage == "syntax":
        (where / "extra.cedar").write_text("permit (principal, action, resource) when {")
    elif breakage == "schema":
        (where / "tools.cedarschema").write_text("namespace RevloopTools { entity Agent; ")
    elif breakage == "no_schema":
        (where / "tools.cedarschema").unlink()
    elif breakage == "missing_dir":
        where = tmp_path / "nowhere"
    else:
        (where / "extra.cedar").write_text(
            '@id("x")\npermit (principal, action, resource) when { resource.owner == "x" };')

    verdict = ToolPolicy(where).authorize(AGENT, tool())

    assert not verdict.allowed and verdict.errors


def test_the_policy_version_changes_with_the_policy_text(tmp_path: Path) -> None:
    where = copy_policies(tmp_path)
    before = ToolPolicy(where).policy_version
    (where / "tools.cedar").write_text((where / "tools.cedar").read_text() + "\n// reviewed\n")

    assert ToolPolicy(where).policy_version != before
