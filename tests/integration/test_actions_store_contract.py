"""The operational store's contract, run on SQLite and on PostgreSQL (a real server the tests start).

The same suite over both dialects: lifecycle, bindings, idempotent claims and results, the outbox, and
exactly-once effects under threads and processes."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from actions.contracts import ActionStatus, ReviewVerdict
from actions.errors import (
    ApprovalAlreadyUsedError,
    ApprovalExpiredError,
    NotAwaitingReviewError,
    NotExecutableError,
)
from actions.executors import ActionExecutor
from actions.status import ProposalStatus
from actions.store import OperationalStore
from actions.tables import approvals
from decisioning.contracts import ActionType, PolicyOutcome
from ledger.sql import sqlite_url
from ledger.store import Ledger
from tests.integration.test_actions_store_postgres_support import postgres_server, postgres_url
from tests.integration.test_actions_support import FakeCrm, Loop, make_proposal

__all__ = ["postgres_server", "postgres_url"]  # fixtures, imported so pytest finds them here


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "store.sqlite")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def loop(tmp_path: Path, store_url: str) -> Loop:
    return Loop(tmp_path, crm=FakeCrm(delay_seconds=0.05), store_url=store_url)


def _together(n: int, call: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(n)

    def run(_: int) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - the caller counts refusals
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_dialect_is_the_one_asked_for(loop: Loop, store_url: str) -> None:
    assert loop.store.engine.dialect.name == store_url.split(":")[0].split("+")[0]


def test_lifecycle_from_proposal_to_executed(loop: Loop) -> None:
    proposal = make_proposal()
    assert loop.store.add_proposals([proposal, proposal]) == [proposal]
    assert loop.store.add_proposals([proposal]) == []
    assert loop.store.pending_policy() == [proposal]
    loop.classify(PolicyOutcome.needs_approval)
    assert loop.store.list("acme", status="needs_approval")[0].proposal == proposal
    loop.approve(proposal)
    with pytest.raises(NotAwaitingReviewError):
        loop.approve(proposal)
    assert loop.store.max_decision_id() == 1
    [result] = loop.executor.execute_ready()
    assert loop.executor.execute("acme", proposal.proposal_id) == result
    stored = loop.store.get(proposal.proposal_id)
    assert stored is not None and stored.status is ProposalStatus.executed and stored.result == result
    assert loop.store.action_result(result.idempotency_key) == result
    assert loop.store.status_counts("acme")["executed"] == 1
    assert {r["proposal_id"] for r in loop.store.rows("action_results")} == {proposal.proposal_id}
    assert [r["status"] for r in loop.store.action_rows()] == ["succeeded"]
    binding = loop.store.approval(proposal.proposal_id, 1)
    assert binding is not None and binding.used_by == result.idempotency_key


def test_edit_question_and_supersede(loop: Loop) -> None:
    v1 = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    loop.review.request_info("acme", v1.proposal_id, "rita", "Why now?")
    assert [q.question for q in loop.store.info_requests("acme", open_only=True)] == ["Why now?"]
    loop.review.answer_info("acme", v1.proposal_id, "playbook", "Renewal in 30 days")
    v2 = loop.review.edit("acme", v1.proposal_id, "rita", {**v1.arguments, "due_in_days": 7}, "later")
    assert loop.store.get(v1.proposal_id, version=1).status is ProposalStatus.superseded  # type: ignore[union-attr]
    assert loop.store.pending_policy() == [v2]


def test_policy_errors_fail_closed_and_expiry(loop: Loop) -> None:
    loop.store.add_proposals([make_proposal("p-err")])
    loop.classify(PolicyOutcome.automatic, errors=["timeout"])
    assert loop.store.get("p-err").status is ProposalStatus.forbidden  # type: ignore[union-attr]
    loop.submit(make_proposal("p-old"), PolicyOutcome.needs_approval)
    loop.clock.advance(timedelta(hours=100))
    assert loop.review.expire_overdue() == 1
    assert loop.store.get("p-old").status is ProposalStatus.expired  # type: ignore[union-attr]


def test_approval_validity_and_single_use(tmp_path: Path, store_url: str) -> None:
    loop = Loop(tmp_path, validity=timedelta(hours=1), store_url=store_url)
    proposal = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    loop.approve(proposal)
    loop.clock.advance(timedelta(hours=1))
    with pytest.raises(ApprovalExpiredError):
        loop.executor.execute("acme", proposal.proposal_id)
    assert loop.store.get(proposal.proposal_id).status is ProposalStatus.expired  # type: ignore[union-attr]
    other = loop.submit(make_proposal("p2"), PolicyOutcome.needs_approval)
    loop.approve(other)
    with loop.store.engine.begin() as conn:  # another execution already used this approval
        conn.execute(update(approvals).values(used_by="p2:v1:another-key"))
    with pytest.raises(ApprovalAlreadyUsedError):
        loop.store.claim_action("p2", 1, "second", loop.clock(), timedelta(minutes=5))


def test_outbox_once_per_key_and_delivery_claims(loop: Loop) -> None:
    first = loop.store.add_outbox("acme", "k1", "p1", "slack", "ana@acme.test", "s", "b", loop.clock(),
                                  delivery="pending")
    assert loop.store.add_outbox("acme", "k1", "p1", "slack", "x", "y", "z", loop.clock()) == first
    claimed, _ = loop.store.claim_delivery(first.message_id, loop.clock(), timedelta(minutes=1))
    again, _ = loop.store.claim_delivery(first.message_id, loop.clock(), timedelta(minutes=1))
    assert claimed and not again
    sent = loop.store.finish_delivery(first.message_id, loop.clock(), external_id="m-1")
    assert (sent.delivery, sent.external_id) == ("sent", "m-1")
    assert loop.store.outbox("acme", delivery="sent") == [sent] and loop.store.outbox("globex") == []


def test_ten_threads_executing_one_proposal_make_one_mutation(loop: Loop) -> None:
    proposal = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    loop.approve(proposal)
    results = _together(10, lambda: loop.executor.execute("acme", proposal.proposal_id).model_dump_json())
    assert len(set(results)) == 1 and loop.crm.mutations == 1
    assert len(loop.ledger.entries("acme", kind="action.completed")) == 1


def test_concurrent_approvals_get_distinct_ready_positions(loop: Loop) -> None:
    proposals = [loop.submit(make_proposal(f"p{i}"), PolicyOutcome.needs_approval) for i in range(8)]
    pending = iter(proposals)
    lock = threading.Lock()

    def approve_next() -> None:
        with lock:
            proposal = next(pending)
        loop.approve(proposal)

    assert not any(isinstance(r, Exception) for r in _together(8, approve_next))
    assert loop.store.max_decision_id() == 8
    assert len(loop.store.ready_after(0)) == 8


def test_racing_reviewers_one_decision_wins(loop: Loop) -> None:
    proposal = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    outcomes = _together(6, lambda: loop.approve(proposal))
    assert sum(1 for o in outcomes if o is None) == 1
    assert all(isinstance(o, NotAwaitingReviewError) for o in outcomes if o is not None)


def _execute_in_process(store_url: str, ledger_url: str, world: str, proposal_id: str) -> str:
    from connectors.demo.crm import DemoCrm
    store = OperationalStore(store_url)
    executor = ActionExecutor(store, Ledger(ledger_url), DemoCrm(Path(world)), Path(world) / "artifacts")
    return executor.execute("acme", proposal_id, wait_seconds=60).model_dump_json()


def test_four_processes_executing_one_approval_make_one_crm_mutation(tmp_path: Path, store_url: str) -> None:
    from connectors.demo.crm import DemoCrm
    from connectors.demo.world import DemoWorld
    DemoWorld.create(tmp_path / "world", tenants=["acme"], accounts_per_tenant=1, seed=3, event_rate=0.0)
    crm = DemoCrm(tmp_path / "world")
    # The workers run on the wall clock; the test's clock is in 2025, so the approval must outlive the gap.
    loop = Loop(tmp_path, crm=crm, store_url=store_url, validity=timedelta(days=36500))  # type: ignore[arg-type]
    account = _an_account(tmp_path / "world")
    proposal = loop.submit(make_proposal(account_id=account, action_type=ActionType.crm_update_field,
                                         arguments={"object": "accounts", "record_id": account,
                                                    "field": "industry", "value": "Aerospace"}),
                           PolicyOutcome.needs_approval)
    version = crm.get_record("acme", "accounts", account)["version"]  # type: ignore[index]
    loop.review.decide("acme", proposal.proposal_id, ReviewVerdict.approve, "rita", "ok",
                       proposal.arguments_digest, record_version=version)
    ledger_url = sqlite_url(tmp_path / "state.sqlite")
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        results = pool.starmap(_execute_in_process, [(store_url, ledger_url, str(tmp_path / "world"),
                                                      proposal.proposal_id)] * 4)
    assert len(set(results)) == 1
    assert crm.mutation_count("acme") == 1
    assert crm.get_record("acme", "accounts", account)["industry"] == "Aerospace"  # type: ignore[index]
    assert len(loop.ledger.entries("acme", kind="action.attempted")) == 1


def _an_account(root: Path) -> str:
    from connectors.demo.state import load_records, world_engine
    with world_engine(root).connect() as conn:
        return min(load_records(conn, "acme", "accounts"))


def test_forbidden_is_never_claimed(loop: Loop) -> None:
    loop.submit(make_proposal(), PolicyOutcome.forbidden)
    with pytest.raises(NotExecutableError):
        loop.store.claim_action("prop-1", 1, "x", loop.clock(), timedelta(minutes=1))
    assert loop.executor.execute_ready() == [] and ActionStatus.succeeded.value == "succeeded"
