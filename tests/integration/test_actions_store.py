"""The operational store on real SQLite: lifecycle, idempotent inserts, cursors, expiry, exports."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from actions.errors import NotAwaitingReviewError, ProposalNotFoundError
from actions.status import ProposalStatus
from actions.store import OperationalStore
from decisioning.contracts import ActionType, PolicyOutcome
from ledger.sql import sqlite_url
from tests.integration.test_actions_support import T0, Loop, make_proposal, policy


@pytest.fixture
def store(tmp_path: Path) -> OperationalStore:
    return OperationalStore(sqlite_url(tmp_path / "state.sqlite"))


def test_add_proposals_is_idempotent_on_id_and_version(store: OperationalStore) -> None:
    first = make_proposal("p1")
    assert store.add_proposals([first, make_proposal("p2")]) == [first, make_proposal("p2")]
    assert store.add_proposals([first, make_proposal("p1", version=1)]) == []
    assert [p.proposal_id for p in store.pending_policy()] == ["p1", "p2"]
    stored = store.get("p1")
    assert stored is not None and stored.status is ProposalStatus.pending_policy
    assert stored.proposal == first


def test_newer_version_supersedes_the_undecided_older_one(store: OperationalStore) -> None:
    store.add_proposals([make_proposal("p1")])
    v2 = make_proposal("p1", version=2, arguments={"subject": "edited"})
    assert store.add_proposals([v2]) == [v2]
    older = store.get("p1", version=1)
    assert older is not None and older.status is ProposalStatus.superseded
    newest = store.get("p1")
    assert newest is not None and newest.proposal.version == 2


def test_same_id_in_another_tenant_is_refused(store: OperationalStore) -> None:
    store.add_proposals([make_proposal("p1", tenant="acme")])
    with pytest.raises(ValueError, match="another tenant"):
        store.add_proposals([make_proposal("p1", tenant="globex", version=2)])


@pytest.mark.parametrize(("outcome", "status"), [
    (PolicyOutcome.automatic, ProposalStatus.automatic),
    (PolicyOutcome.needs_approval, ProposalStatus.needs_approval),
    (PolicyOutcome.forbidden, ProposalStatus.forbidden),
])
def test_policy_outcome_sets_status(store: OperationalStore, outcome: PolicyOutcome,
                                    status: ProposalStatus) -> None:
    proposal = make_proposal()
    store.add_proposals([proposal])
    assert store.record_policy(policy(proposal, outcome))
    stored = store.get(proposal.proposal_id)
    assert stored is not None and stored.status is status and stored.policy is not None
    assert store.pending_policy() == []
    assert not store.record_policy(policy(proposal, PolicyOutcome.automatic)), "re-delivery changes nothing"
    assert store.get(proposal.proposal_id).status is status  # type: ignore[union-attr]


def test_policy_with_evaluation_errors_fails_closed(store: OperationalStore) -> None:
    proposal = make_proposal()
    store.add_proposals([proposal])
    store.record_policy(policy(proposal, PolicyOutcome.automatic, errors=["engine timed out"]))
    assert store.get(proposal.proposal_id).status is ProposalStatus.forbidden  # type: ignore[union-attr]
    assert store.ready_to_execute() == []


def test_policy_for_unknown_or_foreign_proposal_is_refused(store: OperationalStore) -> None:
    with pytest.raises(ProposalNotFoundError):
        store.record_policy(policy(make_proposal("nope"), PolicyOutcome.automatic))
    store.add_proposals([make_proposal("p1", tenant="acme")])
    with pytest.raises(ProposalNotFoundError):
        store.record_policy(policy(make_proposal("p1", tenant="globex"), PolicyOutcome.automatic))


def test_ready_cursor_grows_only_for_automatic_and_approved(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    assert loop.store.max_decision_id() == 0
    loop.submit(make_proposal("auto"), PolicyOutcome.automatic)
    assert loop.store.max_decision_id() == 1
    loop.submit(make_proposal("forbidden"), PolicyOutcome.forbidden)
    review = loop.submit(make_proposal("review"), PolicyOutcome.needs_approval)
    assert loop.store.max_decision_id() == 1
    loop.approve(review)
    assert loop.store.max_decision_id() == 2
    assert [s.proposal_id for s in loop.store.ready_after(1)] == ["review"]
    assert [s.proposal_id for s in loop.store.ready_to_execute("acme")] == ["auto", "review"]
    assert loop.store.ready_to_execute("globex") == []


def test_list_filters_and_status_counts(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.submit(make_proposal("a1"), PolicyOutcome.needs_approval)
    loop.submit(make_proposal("a2", action_type=ActionType.notify_owner,
                              arguments={"message": "hi"}, account_id="acc-2"), PolicyOutcome.automatic)
    loop.submit(make_proposal("g1", tenant="globex"), PolicyOutcome.needs_approval)
    assert [s.proposal_id for s in loop.store.list("acme", status="needs_approval")] == ["a1"]
    assert [s.proposal_id for s in loop.store.list("acme", action_type="notify.owner")] == ["a2"]
    assert [s.proposal_id for s in loop.store.list("acme", account_id="acc-2")] == ["a2"]
    assert {s.proposal_id for s in loop.store.list("acme")} == {"a1", "a2"}
    counts = loop.store.status_counts("acme")
    assert counts["needs_approval"] == 1 and counts["automatic"] == 1 and counts["executed"] == 0
    assert loop.store.status_counts()["needs_approval"] == 2


def test_expire_overdue_only_moves_old_pending_reviews(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    old = loop.submit(make_proposal("old"), PolicyOutcome.needs_approval)
    loop.clock.advance(timedelta(hours=10))
    loop.submit(make_proposal("new"), PolicyOutcome.needs_approval)
    assert loop.store.expire_overdue(T0 + timedelta(hours=12), timedelta(hours=11)) == 1
    assert loop.store.get(old.proposal_id).status is ProposalStatus.expired  # type: ignore[union-attr]
    assert loop.store.get("new").status is ProposalStatus.needs_approval  # type: ignore[union-attr]
    with pytest.raises(NotAwaitingReviewError):
        loop.approve(old)


def test_rows_export_plain_dicts_per_tenant(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.submit(make_proposal("a1"), PolicyOutcome.automatic)
    loop.submit(make_proposal("g1", tenant="globex"), PolicyOutcome.automatic)
    rows = loop.store.rows("proposals", tenant="acme")
    assert [r["proposal_id"] for r in rows] == ["a1"] and rows[0]["status"] == "automatic"
    assert len(loop.store.rows("policy_decisions")) == 2
    with pytest.raises(KeyError, match="unknown table"):
        loop.store.rows("ledger_entries")
