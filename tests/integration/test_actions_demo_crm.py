"""The executors against the real demo CRM adapter: the CrmWriter port's contract, exactly once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from actions.contracts import ActionStatus, ReviewVerdict
from actions.executors import ActionExecutor
from connectors.demo.crm import DemoCrm
from connectors.demo.state import load_records, world_engine
from connectors.demo.world import DemoWorld
from decisioning.contracts import ActionType, PolicyOutcome
from tests.integration.test_actions_support import Loop, make_proposal


@pytest.fixture
def crm(tmp_path: Path) -> DemoCrm:
    DemoWorld.create(tmp_path / "world", tenants=["acme"], accounts_per_tenant=2, seed=3, event_rate=0.0)
    return DemoCrm(tmp_path / "world")


@pytest.fixture
def account(crm: DemoCrm, tmp_path: Path) -> dict[str, Any]:
    return _first_account(tmp_path / "world")


def _first_account(root: Path) -> dict[str, Any]:
    with world_engine(root).connect() as conn:
        record = min(load_records(conn, "acme", "accounts").values(), key=lambda r: r.record_id)
    return record.as_dict()


def _executor(loop: Loop, crm: DemoCrm) -> ActionExecutor:
    return ActionExecutor(loop.store, loop.ledger, crm, loop.artifacts, loop.clock)


def test_approved_update_field_runs_once_under_ten_threads(tmp_path: Path, crm: DemoCrm,
                                                           account: dict[str, Any]) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(
        account_id=account["id"], action_type=ActionType.crm_update_field,
        arguments={"object": "accounts", "record_id": account["id"], "field": "industry",
                   "value": "Aerospace"}), PolicyOutcome.needs_approval)
    loop.review.decide("acme", proposal.proposal_id, ReviewVerdict.approve, "rita", "ok",
                       proposal.arguments_digest, record_version=account["version"])
    executor = _executor(loop, crm)
    barrier = threading.Barrier(10)

    def run(_: int) -> str:
        barrier.wait()
        return executor.execute("acme", proposal.proposal_id).model_dump_json()

    with ThreadPoolExecutor(10) as pool:
        results = set(pool.map(run, range(10)))
    assert len(results) == 1
    assert crm.mutation_count("acme") == 1
    after = crm.get_record("acme", "accounts", account["id"])
    assert after is not None and after["industry"] == "Aerospace"
    assert after["version"] == account["version"] + 1


def test_create_task_and_stale_version_against_the_demo_crm(tmp_path: Path, crm: DemoCrm,
                                                            account: dict[str, Any]) -> None:
    loop = Loop(tmp_path)
    loop.submit(make_proposal("task", account_id=account["id"]), PolicyOutcome.automatic)
    stale = loop.submit(make_proposal("stale", account_id=account["id"],
                                      action_type=ActionType.crm_update_field,
                                      arguments={"object": "accounts", "record_id": account["id"],
                                                 "field": "industry", "value": "Mining"}),
                        PolicyOutcome.needs_approval)
    loop.review.decide("acme", "stale", ReviewVerdict.approve, "rita", "ok", stale.arguments_digest,
                       record_version=account["version"] - 1)
    results = {r.proposal_id: r for r in _executor(loop, crm).execute_ready()}
    assert results["task"].status is ActionStatus.succeeded
    task = crm.get_record("acme", "tasks", results["task"].external_ids["task_id"])
    assert task is not None and task["subject"] == "Call the new champion"
    assert task["due_date"] == "2025-03-04", "due_in_days counts from the proposal"
    assert results["stale"].status is ActionStatus.failed
    assert "CrmConflictError" in (results["stale"].error or "")
    assert crm.mutation_count("acme") == 1
