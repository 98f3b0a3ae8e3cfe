"""Executor processes killed at each point (RELIABILITY 11): after the claim, after the CRM write,
after the result is stored but before its ledger entry, and mid batch; twice in a row, then recovery.
Afterwards every action has run exactly once in the CRM and has exactly one completion in the ledger."""

from __future__ import annotations

import multiprocessing
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from actions.contracts import ActionResult, ActionStatus
from actions.executors import ActionExecutor
from actions.status import ProposalStatus
from actions.store import OperationalStore
from connectors.demo.crm import DemoCrm
from connectors.demo.state import load_records, world_engine
from connectors.demo.world import DemoWorld
from decisioning.contracts import PolicyOutcome
from ledger.sql import sqlite_url
from ledger.store import Ledger
from tests.integration.test_actions_support import Loop, make_proposal

KILLED = 9


class CrashingCrm(DemoCrm):
    def __init__(self, root: Path, point: str) -> None:
        super().__init__(root)
        self.point = point
        self.writes = 0

    def create_task(self, *args: Any, **kwargs: Any) -> Any:
        if self.point == "after_claim":
            os._exit(KILLED)
        out = super().create_task(*args, **kwargs)
        self.writes += 1
        if self.point == "after_crm_write" or (self.point == "mid_batch" and self.writes == 2):
            os._exit(KILLED)
        return out


class CrashingExecutor(ActionExecutor):
    point = ""

    def _publish(self, result: ActionResult) -> None:
        if self.point == "after_result_stored":
            os._exit(KILLED)
        super()._publish(result)


def _run_and_die(point: str, state: str, world: str, hours: int) -> None:
    store = OperationalStore(sqlite_url(Path(state)))
    executor = CrashingExecutor(store, Ledger(sqlite_url(Path(state))), CrashingCrm(Path(world), point),
                                Path(world) / "artifacts", lambda: datetime.now(UTC) + timedelta(hours=hours))
    executor.point = point
    executor.execute_ready()
    os._exit(0)  # reached only if no crash point fired


@pytest.mark.parametrize("point", ["after_claim", "after_crm_write", "after_result_stored", "mid_batch"])
def test_killed_executors_leave_no_lost_or_duplicated_effect(tmp_path: Path, point: str) -> None:
    world = tmp_path / "world"
    DemoWorld.create(world, tenants=["acme"], accounts_per_tenant=1, seed=3, event_rate=0.0)
    with world_engine(world).connect() as conn:
        account = min(load_records(conn, "acme", "accounts"))
    loop = Loop(tmp_path)
    count = 3 if point == "mid_batch" else 1
    for i in range(count):
        loop.submit(make_proposal(f"p{i}", account_id=account), PolicyOutcome.automatic)
    context = multiprocessing.get_context("spawn")
    for attempt in (1, 2):  # the second worker takes over the first one's expired claims, and dies too
        worker = context.Process(target=_run_and_die, args=(point, str(tmp_path / "state.sqlite"),
                                                            str(world), attempt))
        worker.start()
        worker.join(120)
        assert worker.exitcode == KILLED, f"the worker was meant to die at {point}"

    crm = DemoCrm(world)
    recovery = ActionExecutor(loop.store, loop.ledger, crm, world / "artifacts",
                              lambda: datetime.now(UTC) + timedelta(hours=10))
    recovery.execute_ready()
    recovery.execute_ready()
    assert crm.mutation_count("acme") == count
    assert len(crm.tasks("acme")) == count
    completed = loop.ledger.entries("acme", kind="action.completed")
    assert sorted(e.payload["proposal_id"] for e in completed) == [f"p{i}" for i in range(count)]
    for i in range(count):
        stored = loop.store.get(f"p{i}")
        assert stored is not None and stored.status is ProposalStatus.executed
        assert stored.result is not None and stored.result.status is ActionStatus.succeeded
    loop.ledger.verify("acme")
