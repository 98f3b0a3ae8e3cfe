"""Every Cedar policy, allowed and denied: table-driven against the shipped policy set.

A policy "allows" a case when it lets the proposal further than the case's deny twin goes, and the
engine's reasons cite a permit exactly when it allowed and a forbid exactly when it denied."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import cedarpy
import pytest

from decisioning.contracts import ActionType, PolicyOutcome, Proposal, RiskTier
from decisioning.policy import DEFAULT_POLICY_DIR, CedarPolicyEngine
from decisioning.policy_context import ControlState
from decisioning.policy_request import resource_attributes
from tests.unit.test_decisioning_fixtures import (
    BRIEF_ARGS,
    ESCALATE_ARGS,
    NOTIFY_ARGS,
    RENEWAL_REVIEW_ARGS,
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
    controls: ControlState = field(default_factory=ControlState)


def notify(confidence: float = 0.9, tier: RiskTier = RiskTier.L0, tenant: str = "acme",
           cost: float = 0.0) -> Proposal:
    made = make_proposal(ActionType.notify_owner, NOTIFY_ARGS, confidence=confidence, risk_tier=tier,
                         tenant=tenant)
    return made.model_copy(update={"cost_estimate_usd": cost})


def update(field_name: str, tenant: str = "acme") -> Proposal:
    return make_proposal(ActionType.crm_update_field, update_args(field_name), risk_tier=RiskTier.L2,
                         tenant=tenant)


def task(tier: RiskTier = RiskTier.L1, confidence: float = 0.9) -> Proposal:
    return make_proposal(ActionType.crm_create_task, TASK_ARGS, risk_tier=tier, confidence=confidence)


def escalate(tier: RiskTier = RiskTier.L2) -> Proposal:
    return make_proposal(ActionType.escalate_exec_sponsor, ESCALATE_ARGS, risk_tier=tier, confidence=0.95)


def renewal_review(tenant: str = "acme") -> Proposal:
    return make_proposal(ActionType.schedule_renewal_review, RENEWAL_REVIEW_ARGS, risk_tier=RiskTier.L1,
                         confidence=0.95, tenant=tenant)


KILLED = ControlState(killed_by=("tenant:acme",))
BUDGET_LEFT = ControlState(max_actions_per_day=10, actions_today=9, max_spend_per_day_cents=1_000,
                           spend_today_cents=900)
BUDGET_SPENT = ControlState(max_actions_per_day=10, actions_today=10)
AUTO = PolicyOutcome.automatic
APPROVAL = PolicyOutcome.needs_approval
FORBIDDEN = PolicyOutcome.forbidden

CASES = [
    Case("auto-l0-notify-and-draft", "allow", notify(), AUTO),
    Case("auto-l0-notify-and-draft", "allow", make_proposal(ActionType.draft_meeting_brief, BRIEF_ARGS),
         AUTO),
    Case("auto-l0-notify-and-draft", "deny", notify(tier=RiskTier.L1), APPROVAL),
    Case("auto-l0-notify-and-draft", "deny", escalate(), APPROVAL),
    Case("no-auto-below-confidence-threshold", "allow", notify(confidence=0.70), AUTO),
    Case("no-auto-below-confidence-threshold", "deny", notify(confidence=0.699), APPROVAL),
    Case("no-auto-crm-writes", "allow", notify(), AUTO),
    Case("no-auto-crm-writes", "deny", task(confidence=0.99), APPROVAL),
    Case("no-auto-while-paused", "allow", notify(), AUTO),
    Case("no-auto-while-paused", "deny", notify(), APPROVAL, paused=True),
    Case("no-auto-while-paused", "deny", notify(), APPROVAL, controls=ControlState(paused_by=("all",))),
    Case("approve-up-to-l2", "allow", task(), APPROVAL),
    Case("approve-up-to-l2", "allow", update("forecast_category"), APPROVAL),
    Case("approve-up-to-l2", "allow", escalate(), APPROVAL),
    Case("approve-up-to-l2", "allow", renewal_review(), APPROVAL),
    Case("approve-up-to-l2", "deny", task(tier=RiskTier.L3), FORBIDDEN),
    Case("never-execute-l3", "allow", notify(tier=RiskTier.L2), APPROVAL),
    Case("never-execute-l3", "deny", notify(tier=RiskTier.L3), FORBIDDEN),
    Case("never-execute-l3", "deny", notify(tier=RiskTier.L3), FORBIDDEN, paused=True),
    Case("never-execute-l3", "deny", escalate(tier=RiskTier.L3), FORBIDDEN),
    Case("no-update-of-protected-fields", "allow", update("forecast_category"), APPROVAL),
    Case("no-update-of-protected-fields", "allow", update("next_step"), APPROVAL),
    *[Case("no-update-of-protected-fields", "deny", update(name), FORBIDDEN)
      for name in ["owner", "OwnerId", "hubspot_owner_id", "account_owner", "amount", "Amount", "stage",
                   "dealstage", "StageName", "close_date", "CloseDate"]],
    Case("kill-switch", "allow", notify(), AUTO),
    Case("kill-switch", "allow", task(), APPROVAL, controls=ControlState(paused_by=("all",))),
    Case("kill-switch", "deny", notify(), FORBIDDEN, controls=KILLED),
    Case("kill-switch", "deny", task(), FORBIDDEN, controls=ControlState(killed_by=("all",))),
    Case("no-auto-over-daily-action-budget", "allow", notify(), AUTO, controls=BUDGET_LEFT),
    Case("no-auto-over-daily-action-budget", "deny", notify(), APPROVAL, controls=BUDGET_SPENT),
    Case("no-spend-over-daily-budget", "allow", notify(cost=1.0), AUTO, controls=BUDGET_LEFT),
    Case("no-spend-over-daily-budget", "deny", notify(cost=1.01), FORBIDDEN, controls=BUDGET_LEFT),
    Case("tenant-allowed-action-types", "allow", update("forecast_category"), APPROVAL),
    Case("tenant-allowed-action-types", "allow", renewal_review(tenant="globex"), APPROVAL),
    Case("tenant-allowed-action-types", "deny", update("forecast_category", tenant="globex"), FORBIDDEN),
    Case("tenant-auto-action-types", "allow", notify(), AUTO),
    Case("tenant-auto-action-types", "deny", notify(tenant="initrode"), APPROVAL),
    Case("tenant-min-auto-confidence", "allow", notify(confidence=0.8, tenant="globex"), AUTO),
    Case("tenant-min-auto-confidence", "deny", notify(confidence=0.79, tenant="globex"), APPROVAL),
    Case("tenant-max-cost-per-action", "allow", notify(cost=100.0), AUTO),
    Case("tenant-max-cost-per-action", "deny", notify(cost=100.01), FORBIDDEN),
    Case("tenant-max-cost-per-action", "deny", notify(cost=6.0, tenant="initrode"), FORBIDDEN),
]


def shipped_policy_effects() -> dict[str, str]:
    text = "\n".join(p.read_text() for p in sorted(DEFAULT_POLICY_DIR.glob("*.cedar")))
    est = json.loads(cedarpy.policies_to_json_str(text))
    return {policy["annotations"]["id"]: policy["effect"] for policy in est["staticPolicies"].values()}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> CedarPolicyEngine:
    # The shipped policies plus one test tenant that allows nothing automatic and caps cost at $5.
    target = tmp_path_factory.mktemp("policies") / "p"
    shutil.copytree(DEFAULT_POLICY_DIR, target)
    tenants = json.loads((target / "tenants.json").read_text())
    tenants["tenants"]["initrode"] = {"auto_action_types": [], "max_cost_per_action_usd": 5.0}
    (target / "tenants.json").write_text(json.dumps(tenants))
    return CedarPolicyEngine(target, clock=fixed_clock)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.policy}-{c.effect}-{c.proposal.action_type}")
def test_policy_table(engine: CedarPolicyEngine, case: Case) -> None:
    decision = engine.classify(case.proposal, automation_paused=case.paused, controls=case.controls)

    assert decision.errors == []
    assert decision.outcome == case.outcome
    is_permit = shipped_policy_effects()[case.policy] == "permit"
    # A permit shows up among the reasons when it allows; a forbid shows up when it denies.
    assert (case.policy in decision.reasons) == ((case.effect == "allow") == is_permit)


def test_every_shipped_policy_has_an_allow_and_a_deny_case() -> None:
    covered = {(case.policy, case.effect) for case in CASES}
    effects = shipped_policy_effects()
    assert len(effects) >= 14
    for policy_id in effects:
        assert (policy_id, "allow") in covered, f"{policy_id} has no allow test"
        assert (policy_id, "deny") in covered, f"{policy_id} has no deny test"


def test_every_action_type_has_a_policy_case() -> None:
    covered = {case.proposal.action_type for case in CASES}
    assert covered == set(ActionType)


def test_shipped_policies_validate_against_the_schema_without_warnings(engine: CedarPolicyEngine) -> None:
    assert CedarPolicyEngine().validate() == []
    text = "\n".join(p.read_text() for p in sorted(DEFAULT_POLICY_DIR.glob("*.cedar")))
    result = cedarpy.validate_policies(text, (DEFAULT_POLICY_DIR / "revloop.cedarschema").read_text())
    assert result.validation_passed and result.errors == []


def test_a_look_alike_character_in_a_policy_is_a_warning(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_POLICY_DIR, tmp_path / "p")
    guard = tmp_path / "p" / "guardrails.cedar"
    guard.write_text(guard.read_text().replace('like "*owner*"', 'like "*\u043ewner*"'))  # Cyrillic o

    problems = CedarPolicyEngine(tmp_path / "p").validate()

    assert len(problems) == 1 and problems[0].startswith("warning: guardrails.cedar:")
    assert "U+043E" in problems[0]


def test_a_crm_write_cannot_talk_itself_down_to_l0(engine: CedarPolicyEngine) -> None:
    claimed_l0 = make_proposal(ActionType.crm_update_field, update_args("forecast_category"),
                               risk_tier=RiskTier.L0, confidence=0.99)

    assert resource_attributes(claimed_l0, claimed_l0.arguments)["risk_tier"] == 2
    assert engine.classify(claimed_l0).outcome == PolicyOutcome.needs_approval


def test_an_escalation_cannot_talk_itself_down_to_l0(engine: CedarPolicyEngine) -> None:
    claimed_l0 = escalate(tier=RiskTier.L0)

    assert resource_attributes(claimed_l0, claimed_l0.arguments)["risk_tier"] == 2
    assert engine.classify(claimed_l0).outcome == PolicyOutcome.needs_approval


def test_decision_records_policy_version_and_proposal(engine: CedarPolicyEngine) -> None:
    decision = engine.classify(notify())

    assert decision.policy_version == engine.policy_version and len(engine.policy_version) == 12
    assert (decision.proposal_id, decision.proposal_version, decision.tenant) == ("prop_test", 1, "acme")
    assert decision.decided_at == fixed_clock()


def test_evaluation_returns_the_inputs_cedar_saw(engine: CedarPolicyEngine) -> None:
    evaluation = engine.evaluate(notify(cost=1.0, tenant="globex"), BUDGET_LEFT)

    assert evaluation.decision.outcome == PolicyOutcome.automatic
    inputs = evaluation.inputs
    assert inputs["principal"] == {"type": "Revloop::Agent", "id": "playbook"}
    assert inputs["resource"]["attrs"]["cost_cents"] == 100
    assert inputs["tenant"] == {"id": "globex", "attrs": {
        "allowed_action_types": ["crm.create_task", "draft.meeting_brief", "escalate.exec_sponsor",
                                 "notify.owner", "schedule.renewal_review"],
        "auto_action_types": sorted(t.value for t in ActionType), "min_auto_confidence_pct": 80,
        "max_cost_per_action_cents": 10_000}}
    assert inputs["context"] == {"killed": False, "automation_paused": False, "actions_today": 9,
                                 "spend_today_cents": 900, "max_actions_per_day": 10,
                                 "max_spend_per_day_cents": 1_000}
    assert inputs["controls"]["actions_today"] == 9


def test_policy_version_follows_the_files(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_POLICY_DIR, tmp_path / "p")
    same = CedarPolicyEngine(tmp_path / "p")
    assert same.policy_version == CedarPolicyEngine().policy_version

    approval = tmp_path / "p" / "approval.cedar"
    approval.write_text(approval.read_text().replace("risk_tier <= 2", "risk_tier <= 1"))
    changed = CedarPolicyEngine(tmp_path / "p")

    assert changed.policy_version != same.policy_version
    assert changed.classify(update("forecast_category")).outcome == PolicyOutcome.forbidden


def test_tenant_constraints_are_part_of_the_policy_version(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_POLICY_DIR, tmp_path / "p")
    before = CedarPolicyEngine(tmp_path / "p")
    (tmp_path / "p" / "tenants.json").write_text(json.dumps(
        {"default": {"min_auto_confidence_pct": 95}}))
    after = CedarPolicyEngine(tmp_path / "p")

    assert after.policy_version != before.policy_version
    assert before.classify(notify(confidence=0.9)).outcome == PolicyOutcome.automatic
    assert after.classify(notify(confidence=0.9)).outcome == PolicyOutcome.needs_approval
