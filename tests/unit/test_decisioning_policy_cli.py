"""``revloop policy``: kill switches, budgets, validation and a backtest from the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actions.stage import classify_pending_proposals
from actions.store import OperationalStore
from decisioning.contracts import ActionType
from decisioning.controls import CONTROL_CHANGED, SYSTEM_TENANT
from decisioning.policy import DEFAULT_POLICY_DIR, CedarPolicyEngine
from ledger.sql import sqlite_url
from ledger.store import Ledger, NewEntry
from revloop.commands.policy import app
from tests.unit.test_decisioning_fixtures import NOTIFY_ARGS, TASK_ARGS, make_proposal


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"REVLOOP_DATA_DIR": str(tmp_path), "REVLOOP_DEMO_TENANTS": "acme,globex"}


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def ledger(tmp_path: Path) -> Ledger:
    return Ledger(sqlite_url(tmp_path / "state.sqlite"))


def test_kill_status_resume(env: dict[str, str], tmp_path: Path) -> None:
    code, out = run(env, "kill", "--tenant", "acme", "--action-type", "notify.owner", "--reason", "spam",
                    "--by", "ops:rita")
    assert code == 0, out
    assert "kill switch set: tenant:acme/action_type:notify.owner stopped" in out
    code, out = run(env, "kill", "--pause", "--reason", "incident")
    assert code == 0 and "all automation paused" in out

    code, out = run(env, "status")
    assert code == 0, out
    assert "sound" in out and CedarPolicyEngine().policy_version in out
    assert "tenant:acme/action_type:notify.owner" in out and "by ops:rita" in out and ": spam" in out
    assert "acme " in out and "globex " in out and "automatic actions 0 of unlimited" in out

    code, out = run(env, "resume", "--tenant", "acme", "--action-type", "notify.owner", "--by", "ops:rita")
    assert code == 0 and "kill switch lifted: tenant:acme/action_type:notify.owner (was stop" in out
    code, out = run(env, "resume", "--tenant", "acme")
    assert code == 1 and "no kill switch is set for tenant:acme" in out

    entries = ledger(tmp_path).entries("acme", kind=CONTROL_CHANGED)
    assert [(e.actor, e.payload["change"]) for e in entries] == [("ops:rita", "set"), ("ops:rita", "cleared")]
    [paused] = ledger(tmp_path).entries(SYSTEM_TENANT, kind=CONTROL_CHANGED)
    assert paused.actor.startswith("cli:") and paused.payload["after"]["mode"] == "pause"


def test_bad_kill_is_refused_with_exit_2(env: dict[str, str]) -> None:
    code, out = run(env, "kill", "--action-type", "crm.delete", "--reason", "x")
    assert code == 2 and "unknown action type 'crm.delete'" in out


def test_budget_set_show_clear(env: dict[str, str], tmp_path: Path) -> None:
    code, out = run(env, "budget", "acme", "--actions-per-day", "25", "--spend-per-day", "40", "--by", "kim")
    assert code == 0, out
    assert "acme: 25 automatic actions and $40.00 per day (set by kim); today 0 actions" in out
    code, out = run(env, "budget", "globex")
    assert code == 0 and "globex: no budgets (unlimited)" in out
    code, out = run(env, "budget", "acme", "--clear", "--by", "kim")
    assert code == 0 and "acme: budgets cleared" in out
    assert [e.payload["change"] for e in ledger(tmp_path).entries("acme", kind=CONTROL_CHANGED)] == [
        "set", "cleared"]


def test_validate_passes_the_shipped_policies_and_fails_a_broken_set(env: dict[str, str],
                                                                       tmp_path: Path) -> None:
    code, out = run(env, "validate")
    assert code == 0 and "policies OK: 14 policies" in out

    broken = tmp_path / "broken"
    shutil.copytree(DEFAULT_POLICY_DIR, broken)
    (broken / "extra.cedar").write_text('permit (principal, action, resource) when { context.nope };\n')
    code, out = run(env, "validate", "--policy-dir", str(broken))
    assert code == 1 and "policies INVALID" in out and "no @id" in out


def test_backtest_prints_the_transitions(env: dict[str, str], tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "state.sqlite")
    store, book = OperationalStore(url), Ledger(url)
    notify = make_proposal(ActionType.notify_owner, NOTIFY_ARGS)
    proposals = [notify.model_copy(update={"proposal_id": f"n{i}"}) for i in range(3)]
    proposals.append(make_proposal(ActionType.crm_create_task, TASK_ARGS).model_copy(
        update={"proposal_id": "t1"}))
    book.append_many([NewEntry("acme", "proposal.created", "agent:playbook", p.model_dump(mode="json"))
                      for p in proposals])
    store.add_proposals(proposals)
    classify_pending_proposals(store, CedarPolicyEngine(), book)
    candidate = tmp_path / "candidate"
    shutil.copytree(DEFAULT_POLICY_DIR, candidate)
    tenants = json.loads((candidate / "tenants.json").read_text())
    tenants["default"]["min_auto_confidence_pct"] = 95
    (candidate / "tenants.json").write_text(json.dumps(tenants))

    code, out = run(env, "backtest", "--candidate", str(candidate), "--since", "2025-03-01")
    assert code == 0, out
    assert "over 4 recorded decisions of acme" in out and "3 would change" in out
    assert "automatic       -> needs_approval       3  n0, n1, n2" in out
    assert "needs_approval  -> needs_approval       1  t1  (unchanged)" in out
    code, out = run(env, "backtest", "--candidate", str(candidate), "--since", "2030-01-01")
    assert code == 0 and "over 0 recorded decisions" in out
