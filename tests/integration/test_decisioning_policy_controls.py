"""Kill switches and budgets over a real SQLite store: read at every classification, every change ledgered."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from actions.stage import classify_pending_proposals
from actions.status import ProposalStatus
from decisioning.contracts import ActionType, PolicyOutcome, Proposal, RiskTier
from decisioning.controls import CONTROL_CHANGED, SYSTEM_TENANT, Controls
from decisioning.policy import DEFAULT_POLICY_DIR, CedarPolicyEngine
from ledger.sql import sqlite_url
from ledger.store import Ledger
from tests.integration.test_actions_support import FakeClock, Loop, make_proposal

NOTIFY = {"channel": "owner", "recipient": "ana@acme.example", "subject": "Heads up", "message": "Slipped."}


def notify(proposal_id: str, tenant: str = "acme", cost: float = 0.0) -> Proposal:
    made = make_proposal(proposal_id, tenant=tenant, action_type=ActionType.notify_owner, arguments=NOTIFY)
    return made.model_copy(update={"risk_tier": RiskTier.L0, "confidence": 0.9, "cost_estimate_usd": cost})


class Policy:
    """The loop's policy stage: a store, a ledger, the shipped Cedar policies, the controls."""

    def __init__(self, tmp_path: Path, policy_dir: Path = DEFAULT_POLICY_DIR) -> None:
        self.loop = Loop(tmp_path)
        self.clock: FakeClock = self.loop.clock
        self.controls = Controls(sqlite_url(tmp_path / "state.sqlite"), self.loop.ledger, clock=self.clock)
        self.engine = CedarPolicyEngine(policy_dir, clock=self.clock)

    def run(self, *proposals: Proposal) -> dict[str, PolicyOutcome]:
        self.loop.store.add_proposals(list(proposals))
        decisions = classify_pending_proposals(self.loop.store, self.engine, self.loop.ledger, self.controls)
        return {d.proposal_id: d.outcome for d in decisions}

    def decided(self, tenant: str = "acme") -> dict[str, dict[str, Any]]:
        return {e.payload["proposal_id"]: e.payload
                for e in self.loop.ledger.entries(tenant, kind="policy.decided")}


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return Policy(tmp_path)


def test_a_tenant_kill_switch_stops_the_next_proposal_and_resume_lifts_it(policy: Policy) -> None:
    assert policy.run(notify("n1")) == {"n1": PolicyOutcome.automatic}

    policy.controls.kill(tenant="acme", by="ops:rita", reason="bad data in the CRM sync")
    assert policy.run(notify("n2"), notify("g2", tenant="globex")) == {
        "n2": PolicyOutcome.forbidden, "g2": PolicyOutcome.automatic}
    entry = policy.decided()["n2"]
    assert entry["reasons"] == ["kill-switch"]
    assert entry["inputs"]["context"]["killed"] is True
    assert entry["inputs"]["controls"]["killed_by"] == ["tenant:acme"]

    assert policy.controls.resume(tenant="acme", by="ops:rita", reason="sync fixed") is not None
    assert policy.run(notify("n3")) == {"n3": PolicyOutcome.automatic}
    assert policy.loop.store.get("n2").status is ProposalStatus.forbidden  # type: ignore[union-attr]


def test_switch_scopes_cover_what_they_name(policy: Policy) -> None:
    policy.controls.kill(action_type="notify.owner", by="ops", reason="noisy notifications")
    task = make_proposal("t1")
    assert policy.run(notify("n1"), task) == {
        "n1": PolicyOutcome.forbidden, "t1": PolicyOutcome.needs_approval}

    policy.controls.resume(action_type="notify.owner", by="ops")
    policy.controls.kill(by="ops", reason="incident", mode="pause")
    assert policy.run(notify("n2"), notify("g2", tenant="globex")) == {
        "n2": PolicyOutcome.needs_approval, "g2": PolicyOutcome.needs_approval}

    policy.controls.kill(by="ops", reason="incident got worse")  # replaces the pause with a stop
    assert policy.run(notify("n3"), make_proposal("t3")) == {
        "n3": PolicyOutcome.forbidden, "t3": PolicyOutcome.forbidden}
    assert [(s.scope, s.mode) for s in policy.controls.kill_switches()] == [("all", "stop")]


def test_every_control_change_is_ledgered_with_who_what_and_when(policy: Policy) -> None:
    policy.controls.kill(by="ops:rita", reason="incident 42", mode="pause")
    policy.controls.kill(tenant="acme", action_type="crm.update_field", by="ops:sam", reason="bad rule")
    policy.controls.set_budget("acme", by="finance:kim", max_actions_per_day=50, max_spend_per_day_usd=12.5)
    policy.clock.advance(timedelta(minutes=5))
    policy.controls.resume(by="ops:rita", reason="resolved")
    assert policy.controls.resume(by="ops:rita") is None  # nothing left to lift: nothing ledgered

    system = policy.loop.ledger.entries(SYSTEM_TENANT, kind=CONTROL_CHANGED)
    assert [(e.actor, e.payload["change"], e.payload["scope"]) for e in system] == [
        ("ops:rita", "set", "all"), ("ops:rita", "cleared", "all")]
    assert system[0].payload["after"]["mode"] == "pause" and system[0].payload["before"] is None
    assert system[1].payload["before"]["reason"] == "incident 42" and system[1].payload["after"] is None
    assert system[1].payload["at"] == policy.clock().isoformat()
    acme = policy.loop.ledger.entries("acme", kind=CONTROL_CHANGED)
    assert [(e.payload["control"], e.payload["scope"], e.payload["by"]) for e in acme] == [
        ("kill_switch", "tenant:acme/action_type:crm.update_field", "ops:sam"),
        ("budget", "tenant:acme", "finance:kim")]
    assert acme[1].payload["after"]["max_spend_per_day_cents"] == 1250
    policy.loop.ledger.verify()


class RefusingLedger(Ledger):
    def append(self, tenant: str, kind: str, actor: str, payload: dict[str, Any]) -> Any:
        raise RuntimeError("ledger unavailable")


def test_a_change_the_ledger_refuses_is_rolled_back(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "state.sqlite")
    controls = Controls(url, RefusingLedger(url))
    controls_ok = Controls(url, Ledger(url))
    controls_ok.set_budget("acme", by="kim", max_actions_per_day=5, max_spend_per_day_usd=None)

    with pytest.raises(RuntimeError, match="ledger unavailable"):
        controls.kill(by="ops", reason="x")
    with pytest.raises(RuntimeError):
        controls.set_budget("acme", by="ops", max_actions_per_day=500, max_spend_per_day_usd=None)

    assert controls.kill_switches() == []
    assert controls.budget("acme").max_actions_per_day == 5  # type: ignore[union-attr]


@pytest.mark.parametrize("change, message", [
    (lambda c: c.kill(action_type="crm.delete_all", by="ops", reason="x"), "unknown action type"),
    (lambda c: c.kill(by=" ", reason="x"), "who"),
    (lambda c: c.kill(by="ops", reason=""), "why"),
    (lambda c: c.kill(tenant="*", by="ops", reason="x"), "not a tenant id"),
    (lambda c: c.kill(by="ops", reason="x", mode="halt"), "stop' or 'pause"),
    (lambda c: c.set_budget("acme", by="ops", max_actions_per_day=-1, max_spend_per_day_usd=None), ">= 0"),
])
def test_a_bad_control_change_is_refused_with_what_to_fix(policy: Policy, change: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        change(policy.controls)
    assert policy.loop.ledger.entries(SYSTEM_TENANT) == [] and policy.controls.kill_switches() == []


def test_the_action_budget_hands_the_rest_of_the_day_to_humans(policy: Policy) -> None:
    policy.controls.set_budget("acme", by="kim", max_actions_per_day=2, max_spend_per_day_usd=None)

    assert policy.run(notify("n1"), notify("n2"), notify("n3")) == {
        "n1": PolicyOutcome.automatic, "n2": PolicyOutcome.automatic, "n3": PolicyOutcome.needs_approval}
    assert policy.decided()["n3"]["reasons"] == ["approve-up-to-l2", "no-auto-over-daily-action-budget"]
    assert policy.decided()["n3"]["inputs"]["context"]["actions_today"] == 2

    policy.clock.advance(timedelta(days=1))
    assert policy.run(notify("n4")) == {"n4": PolicyOutcome.automatic}
    assert policy.controls.usage("acme").actions == 1


def test_the_spend_budget_is_a_hard_cap_on_what_may_run(policy: Policy) -> None:
    policy.controls.set_budget("acme", by="kim", max_actions_per_day=None, max_spend_per_day_usd=10.0)
    review = make_proposal("t1").model_copy(update={"cost_estimate_usd": 4.0})

    assert policy.run(notify("n1", cost=4.0), review, notify("n3", cost=4.0), notify("n4", cost=2.0)) == {
        "n1": PolicyOutcome.automatic, "t1": PolicyOutcome.needs_approval,
        "n3": PolicyOutcome.forbidden, "n4": PolicyOutcome.automatic}
    assert policy.decided()["n3"]["reasons"] == ["no-spend-over-daily-budget"]
    usage = policy.controls.usage("acme")
    assert (usage.actions, usage.spend_usd) == (2, 10.0)
    assert policy.controls.usage("globex").spend_cents == 0


def test_charging_a_decision_twice_counts_it_once(policy: Policy) -> None:
    policy.run(notify("n1", cost=3.0))
    stored = policy.loop.store.get("n1")
    assert stored is not None and stored.policy is not None
    policy.controls.charge(stored.policy, stored.proposal)

    assert policy.controls.usage("acme").spend_cents == 300
    state = policy.controls.state("acme", "notify.owner", exclude=("n1", 1))
    assert (state.actions_today, state.spend_today_cents) == (0, 0)


def test_a_broken_policy_set_denies_everything_and_ledgers_the_error(tmp_path: Path) -> None:
    broken = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_DIR, broken)
    (broken / "budgets.cedar").write_text((broken / "budgets.cedar").read_text().replace(
        "context.actions_today", "context.actions_done_today"))
    policy = Policy(tmp_path, broken)

    assert policy.run(notify("n1"), make_proposal("t1")) == {
        "n1": PolicyOutcome.forbidden, "t1": PolicyOutcome.forbidden}
    for entry in policy.decided().values():
        assert entry["error"] is True and any("actions_done_today" in e for e in entry["errors"])
        assert entry["policy_version"] == policy.engine.policy_version
    assert policy.loop.executor.execute_ready() == []
    assert policy.controls.usage("acme").spend_cents == 0


def test_the_ledger_records_every_input_of_a_decision(policy: Policy) -> None:
    policy.run(notify("n1", cost=1.5))
    entry = policy.decided()["n1"]

    assert entry["outcome"] == "automatic" and entry["reasons"] == ["auto-l0-notify-and-draft"]
    assert entry["policy_version"] == policy.engine.policy_version and entry["error"] is False
    inputs = entry["inputs"]
    assert inputs["principal"] == {"type": "Revloop::Agent", "id": "playbook"}
    assert inputs["actions"] == ["auto_execute", "execute_with_approval"]
    assert inputs["resource"]["attrs"]["cost_cents"] == 150
    assert inputs["tenant"]["attrs"]["min_auto_confidence_pct"] == 70
    assert inputs["context"] == {"killed": False, "automation_paused": False, "actions_today": 0,
                                 "spend_today_cents": 0}
