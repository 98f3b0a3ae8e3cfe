"""Every Cedar policy, allowed and denied: table-driven against the shipped policy set."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import cedarpy
import pytest

from decisioning.contracts import ActionType, PolicyOutcome, Proposal, RiskTier
from decisioning.policy import DEFAULT_POLICY_DIR, CedarPolicyEngine
from tests.unit.test_decisioning_fixtures import (
    BRIEF_ARGS,
    NOTIFY_ARGS,
    TASK_ARGS,
    fixed_clock,
    make_proposal,
    update_args,
)


@dataclass(frozen=True)
class Case:
    policy: str
    effect: str  # "allow": the policy lets the proposal through; "deny": it stops it
    proposal: Proposal
    outcome: PolicyOutcome
    paused: bool = False


def notify(confidence: float = 0.9, tier: RiskTier = RiskTier.L0) -> Proposal:
    return make_proposal(ActionType.notify_owner, NOTIFY_ARGS, confidence=confidence, risk_tier=tier)


def update(field: str) -> Proposal:
    return make_proposal(ActionType.crm_update_field, update_args(field), risk_tier=RiskTier.L2)


def task(tier: RiskTier = RiskTier.L1, confidence: float = 0.9) -> Proposal:
    return make_proposal(ActionType.crm_create_task, TASK_ARGS, risk_tier=tier, confidence=confidence)


CASES = [
    Case("auto-l0-notify-and-draft", "allow", notify(), PolicyOutcome.automatic),
    Case("auto-l0-notify-and-draft", "allow",
         make_proposal(ActionType.draft_meeting_brief, BRIEF_ARGS), PolicyOutcome.automatic),
    Case("auto-l0-notify-and-draft", "deny", notify(tier=RiskTier.L1), PolicyOutcome.needs_approval),
    Case("no-auto-below-confidence-threshold", "allow", notify(confidence=0.70), PolicyOutcome.automatic),
    Case("no-auto-below-confidence-threshold", "deny", notify(confidence=0.699),
         PolicyOutcome.needs_approval),
    Case("no-auto-crm-writes", "allow", notify(), PolicyOutcome.automatic),
    Case("no-auto-crm-writes", "deny", task(confidence=0.99), PolicyOutcome.needs_approval),
    Case("no-auto-while-paused", "allow", notify(), PolicyOutcome.automatic),
    Case("no-auto-while-paused", "deny", notify(), PolicyOutcome.needs_approval, paused=True),
    Case("approve-up-to-l2", "allow", task(), PolicyOutcome.needs_approval),
    Case("approve-up-to-l2", "allow", update("forecast_category"), PolicyOutcome.needs_approval),
    Case("approve-up-to-l2", "deny", task(tier=RiskTier.L3), PolicyOutcome.forbidden),
    Case("never-execute-l3", "allow", notify(tier=RiskTier.L2), PolicyOutcome.needs_approval),
    Case("never-execute-l3", "deny", notify(tier=RiskTier.L3), PolicyOutcome.forbidden),
    Case("never-execute-l3", "deny", notify(tier=RiskTier.L3), PolicyOutcome.forbidden, paused=True),
    Case("no-update-of-protected-fields", "allow", update("forecast_category"), PolicyOutcome.needs_approval),
    Case("no-update-of-protected-fields", "allow", update("next_step"), PolicyOutcome.needs_approval),
    *[Case("no-update-of-protected-fields", "deny", update(field), PolicyOutcome.forbidden)
      for field in ["owner", "OwnerId", "hubspot_owner_id", "account_owner", "amount", "Amount", "stage",
                    "dealstage", "StageName", "close_date", "CloseDate"]],
]


@pytest.fixture(scope="module")
def engine() -> CedarPolicyEngine:
    return CedarPolicyEngine(clock=fixed_clock)


def shipped_policy_ids() -> set[str]:
    text = "\n".join(p.read_text() for p in sorted(DEFAULT_POLICY_DIR.glob("*.cedar")))
    est = json.loads(cedarpy.policies_to_json_str(text))
    return {policy["annotations"]["id"] for policy in est["staticPolicies"].values()}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.policy}-{c.effect}-{c.proposal.action_type}")
def test_policy_table(engine: CedarPolicyEngine, case: Case) -> None:
    decision = engine.classify(case.proposal, automation_paused=case.paused)

    assert decision.errors == []
    assert decision.outcome == case.outcome
    is_permit = case.policy.startswith(("auto-", "approve-"))
    # A permit shows up among the reasons when it allows; a forbid shows up when it denies.
    assert (case.policy in decision.reasons) == ((case.effect == "allow") == is_permit)


def test_every_shipped_policy_has_an_allow_and_a_deny_case() -> None:
    covered = {(case.policy, case.effect) for case in CASES}
    for policy_id in shipped_policy_ids():
        assert (policy_id, "allow") in covered, f"{policy_id} has no allow test"
        assert (policy_id, "deny") in covered, f"{policy_id} has no deny test"


def test_shipped_policies_validate_against_the_schema(engine: CedarPolicyEngine) -> None:
    assert engine.validate() == []
    text = "\n".join(p.read_text() for p in sorted(DEFAULT_POLICY_DIR.glob("*.cedar")))
    result = cedarpy.validate_policies(text, (DEFAULT_POLICY_DIR / "revloop.cedarschema").read_text())
    assert result.validation_passed and result.errors == []


def test_a_crm_write_cannot_talk_itself_down_to_l0(engine: CedarPolicyEngine) -> None:
    claimed_l0 = make_proposal(ActionType.crm_update_field, update_args("forecast_category"),
                               risk_tier=RiskTier.L0, confidence=0.99)

    assert CedarPolicyEngine.resource_attributes(claimed_l0, claimed_l0.arguments)["risk_tier"] == 2
    assert engine.classify(claimed_l0).outcome == PolicyOutcome.needs_approval


def test_decision_records_policy_version_and_proposal(engine: CedarPolicyEngine) -> None:
    proposal = notify()
    decision = engine.classify(proposal)

    assert decision.policy_version == engine.policy_version and len(engine.policy_version) == 12
    assert (decision.proposal_id, decision.proposal_version, decision.tenant) == ("prop_test", 1, "acme")
    assert decision.decided_at == fixed_clock()


def test_policy_version_follows_the_files(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_POLICY_DIR, tmp_path / "p")
    same = CedarPolicyEngine(tmp_path / "p")
    assert same.policy_version == CedarPolicyEngine().policy_version

    approval = tmp_path / "p" / "approval.cedar"
    approval.write_text(approval.read_text().replace("risk_tier <= 2", "risk_tier <= 1"))
    changed = CedarPolicyEngine(tmp_path / "p")

    assert changed.policy_version != same.policy_version
    assert changed.classify(update("forecast_category")).outcome == PolicyOutcome.forbidden
