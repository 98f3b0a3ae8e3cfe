"""Kill switches hold at execution time, not only at classification: a stop switch thrown after a
proposal was classified or approved refuses it at claim time (ledgered, nothing sent to the CRM); a
pause holds an automatic proposal until it is lifted and lets an approved one run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actions.errors import ExecutionPausedError, KillSwitchOnError
from actions.status import ProposalStatus
from decisioning.contracts import PolicyOutcome
from decisioning.controls import Controls
from tests.integration.test_actions_support import Loop, make_proposal


def controls(loop: Loop) -> Controls:
    return Controls(loop.store.engine.url.render_as_string(hide_password=False), loop.ledger)


def status(loop: Loop) -> ProposalStatus:
    stored = loop.store.get("prop-1")
    assert stored is not None
    return stored.status


def test_a_stop_switch_thrown_after_approval_refuses_the_proposal_for_good(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.approve(loop.submit(make_proposal(), PolicyOutcome.needs_approval))
    controls(loop).kill(by="ops@vendor.com", reason="incident 42", tenant="acme")
    assert loop.executor.execute_ready() == []
    assert loop.crm.mutations == 0 and status(loop) is ProposalStatus.refused
    [entry] = loop.ledger.entries("acme", kind="action.refused")
    assert entry.payload["code"] == "kill_switch_on" and "incident 42" in entry.payload["reason"]
    assert loop.ledger.entries("acme", kind="action.attempted") == []
    controls(loop).resume(by="ops@vendor.com", reason="resolved", tenant="acme")
    assert loop.executor.execute_ready() == [] and loop.crm.mutations == 0, "a refusal is final"


@pytest.mark.parametrize("scope", [{"tenant": "acme"}, {"action_type": "crm.create_task"},
                                   {"tenant": "acme", "action_type": "crm.create_task"}, {}])
def test_a_stop_switch_of_any_covering_scope_refuses_an_automatic_proposal(
        tmp_path: Path, scope: dict[str, Any]) -> None:
    loop = Loop(tmp_path)
    loop.submit(make_proposal(), PolicyOutcome.automatic)
    controls(loop).kill(by="ops@vendor.com", reason="stop", **scope)
    with pytest.raises(KillSwitchOnError, match="kill switch .* is on"):
        loop.executor.execute("acme", "prop-1")
    assert loop.crm.mutations == 0 and status(loop) is ProposalStatus.refused


@pytest.mark.parametrize("scope", [{"tenant": "globex"}, {"action_type": "crm.update_field"}])
def test_a_switch_that_does_not_cover_the_proposal_changes_nothing(tmp_path: Path,
                                                                   scope: dict[str, Any]) -> None:
    loop = Loop(tmp_path)
    loop.submit(make_proposal(), PolicyOutcome.automatic)
    controls(loop).kill(by="ops@vendor.com", reason="elsewhere", **scope)
    [result] = loop.executor.execute_ready()
    assert result.status == "succeeded" and loop.crm.mutations == 1


def test_a_pause_holds_an_automatic_proposal_until_it_is_lifted(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.submit(make_proposal(), PolicyOutcome.automatic)
    controls(loop).kill(by="ops@vendor.com", reason="checking a sync bug", tenant="acme", mode="pause")
    assert loop.executor.execute_ready() == []
    with pytest.raises(ExecutionPausedError, match="paused"):
        loop.executor.execute("acme", "prop-1")
    assert loop.crm.mutations == 0 and status(loop) is ProposalStatus.automatic
    assert loop.ledger.entries("acme", kind="action.refused") == []
    controls(loop).resume(by="ops@vendor.com", reason="fixed", tenant="acme")
    [result] = loop.executor.execute_ready()
    assert result.status == "succeeded" and loop.crm.mutations == 1


def test_a_pause_lets_an_approved_proposal_run(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.approve(loop.submit(make_proposal(), PolicyOutcome.needs_approval))
    controls(loop).kill(by="ops@vendor.com", reason="humans only", mode="pause")
    [result] = loop.executor.execute_ready()
    assert result.status == "succeeded" and loop.crm.mutations == 1
