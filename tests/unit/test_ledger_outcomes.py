"""Outcomes read from CRM changes and the demo world's truth, linked to the work before them, and
recorded once each with a ledger entry (also after a crash between the two)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from actions.outcomes import (
    OutcomeKind,
    OutcomeStore,
    link_to_prior_work,
    observe_outcomes,
    outcomes_from_changes,
    outcomes_from_ground_truth,
)
from connectors.demo.events import GroundTruthEvent
from ledger.sql import sqlite_url
from ledger.store import Ledger
from perception.contracts import ChangeType, FieldChange
from perception.normalize import NormalizedSnapshot
from perception.schemas import ACCOUNTS, OPPORTUNITIES
from perception.snapshot_store import NormalizedSnapshotStore

AT = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)


def change(object_: str, entity: str, field: str | None, before: Any, after: Any,
           kind: ChangeType = ChangeType.changed) -> FieldChange:
    return FieldChange(tenant="acme", object=object_, entity_id=entity, account_id="acc-1", change=kind,
                       field=field, before=before, after=after)


def kinds(changes: list[FieldChange],
          current: dict[str, Any] | None = None) -> list[tuple[str, float | None]]:
    return [(o.kind.value, o.value) for o in outcomes_from_changes(changes, AT, current)]


def test_a_won_deal_held_its_close_date_when_won_on_or_before_it() -> None:
    current = {"opportunities": {"opp-1": {"amount": 12000.0, "close_date": date(2025, 3, 10)},
                                 "opp-2": {"amount": 5000.0, "close_date": date(2025, 3, 9)}}}
    assert kinds([change("opportunities", "opp-1", "stage", "negotiation", "closed_won")], current) == [
        ("deal_won", 12000.0), ("close_date_held", None)]
    assert kinds([change("opportunities", "opp-2", "stage", "negotiation", "closed_won")], current) == [
        ("deal_won", 5000.0)]
    assert kinds([change("opportunities", "opp-2", "stage", "proposal", "closed_lost")], current) == [
        ("deal_lost", 5000.0)]
    assert kinds([change("opportunities", "opp-2", "stage", "discovery", "proposal")]) == []


def test_close_dates_moved_later_slip_by_their_days_and_earlier_ones_do_not() -> None:
    assert kinds([change("opportunities", "o", "close_date", date(2025, 3, 1), date(2025, 3, 6))]) == [
        ("close_date_slipped", 5.0)]
    assert kinds([change("opportunities", "o", "close_date", "2025-03-06", "2025-03-01")]) == []


def test_renewals_and_churn_of_accounts() -> None:
    current = {"accounts": {"acc-1": {"arr": 52000.0}}}
    assert kinds([change("accounts", "acc-1", "renewal_date", date(2025, 3, 9), date(2026, 3, 9))],
                 current) == [("renewed", 52000.0)]
    assert kinds([change("accounts", "acc-1", "arr", 50000.0, 0.0)]) == [("churned", None)]
    assert kinds([change("accounts", "acc-1", "arr", 50000.0, 40000.0)]) == []
    assert kinds([change("accounts", "acc-1", None, {"arr": 1.0}, None, ChangeType.deleted)]) == [
        ("churned", None)]


def test_the_same_change_seen_again_the_same_day_has_the_same_id() -> None:
    one = outcomes_from_changes([change("opportunities", "o", "stage", "proposal", "closed_lost")], AT)
    again = outcomes_from_changes([change("opportunities", "o", "stage", "proposal", "closed_lost")],
                                  AT + timedelta(hours=3))
    later = outcomes_from_changes([change("opportunities", "o", "stage", "proposal", "closed_lost")],
                                  AT + timedelta(days=1))
    assert one[0].outcome_id == again[0].outcome_id != later[0].outcome_id


def test_the_demo_worlds_slipped_deals_are_outcomes_and_its_risks_are_not() -> None:
    events = [GroundTruthEvent(tenant="acme", day=date(2025, 3, 4), kind=kind, account_id="acc-1",
                               entity_type="opportunity", entity_id="opp-9", details={"days": 14})
              for kind in ("deal_slipped", "usage_drop", "champion_departed")]
    [slipped] = outcomes_from_ground_truth(events)
    assert (slipped.kind, slipped.source, slipped.value) == (OutcomeKind.close_date_slipped, "demo_truth",
                                                             14.0)
    assert slipped.observed_at == datetime(2025, 3, 4, tzinfo=UTC)


def test_only_work_done_before_an_outcome_is_linked_to_it() -> None:
    [won] = outcomes_from_changes([change("opportunities", "o", "stage", "proposal", "closed_won")], AT)
    proposals = [
        {"tenant": "acme", "proposal_id": "p1", "version": 1, "account_id": "acc-1",
         "created_at": AT - timedelta(days=3)},
        {"tenant": "acme", "proposal_id": "p1", "version": 2, "account_id": "acc-1",
         "created_at": AT - timedelta(days=2)},
        {"tenant": "acme", "proposal_id": "p2", "version": 1, "account_id": "acc-1",
         "created_at": AT - timedelta(days=1)},
        {"tenant": "acme", "proposal_id": "p3", "version": 1, "account_id": "acc-1", "created_at": AT},
        {"tenant": "acme", "proposal_id": "p4", "version": 1, "account_id": "acc-2",
         "created_at": AT - timedelta(days=5)},
        {"tenant": "other", "proposal_id": "p5", "version": 1, "account_id": "acc-1",
         "created_at": AT - timedelta(days=5)},
    ]
    actions = [
        {"tenant": "acme", "idempotency_key": "p1:v2", "proposal_id": "p1", "status": "succeeded",
         "executed_at": AT - timedelta(days=2)},
        {"tenant": "acme", "idempotency_key": "p2:v1", "proposal_id": "p2", "status": "failed",
         "executed_at": AT - timedelta(hours=1)},
        {"tenant": "acme", "idempotency_key": "p3:v1", "proposal_id": "p3", "status": "succeeded",
         "executed_at": AT + timedelta(hours=1)},
        {"tenant": "acme", "idempotency_key": "p4:v1", "proposal_id": "p4", "status": "succeeded",
         "executed_at": AT - timedelta(days=4)},
    ]
    [linked] = link_to_prior_work([won], proposals, actions)
    assert (linked.prior_proposals, linked.prior_actions_executed) == (2, 1)
    assert (linked.last_proposal_id, linked.last_action_key) == ("p2", "p1:v2")


class CrashingLedger(Ledger):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.crash = True

    def append_many(self, items: Any) -> Any:
        if self.crash and items:
            self.crash = False
            raise ConnectionError("killed after the outcome commit")
        return super().append_many(items)


def test_each_outcome_is_recorded_once_with_its_ledger_entry_even_after_a_crash(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "state.db")
    store, ledger = OutcomeStore(url), CrashingLedger(url)
    found = outcomes_from_changes([change("opportunities", "o1", "stage", "proposal", "closed_won"),
                                   change("accounts", "acc-1", "arr", 5.0, 0.0)], AT)
    with pytest.raises(ConnectionError):
        store.record(found, ledger)
    assert len(store.rows()) == 2 and ledger.entries("acme") == []
    assert store.record(found, ledger) == []  # nothing new, but the missing entries are appended now
    assert store.record(found, ledger) == []
    entries = ledger.entries("acme", kind="outcome.observed")
    assert sorted(e.payload["outcome_id"] for e in entries) == sorted(o.outcome_id for o in found)
    assert {r["kind"] for r in store.rows("acme")} == {"deal_won", "churned"} and store.rows("other") == []


def snapshot(day: int, stage: str, close: date, renewal: date, slip: date) -> NormalizedSnapshot:
    accounts = pl.DataFrame([{"tenant": "acme", "account_id": "acc-1", "name": "Acme", "domain": "acme.test",
                              "industry": "saas", "owner_email": "ana@acme.test", "arr": 50000.0,
                              "seats_licensed": 20, "renewal_date": renewal}], schema=ACCOUNTS)
    opportunities = pl.DataFrame([
        {"tenant": "acme", "opportunity_id": "opp-1", "account_id": "acc-1", "name": "Expansion",
         "stage": stage, "amount": 9000.0, "close_date": close, "owner_email": "ana@acme.test",
         "stage_changed_on": None},
        {"tenant": "acme", "opportunity_id": "opp-2", "account_id": "acc-1", "name": "Renewal uplift",
         "stage": "proposal", "amount": 3000.0, "close_date": slip, "owner_email": "ana@acme.test",
         "stage_changed_on": None}], schema=OPPORTUNITIES)
    return NormalizedSnapshot("acme", "demo", datetime(2025, 3, day, 6, tzinfo=UTC),
                              {"accounts": accounts, "opportunities": opportunities})


def test_outcomes_are_read_from_each_new_snapshot_once(tmp_path: Path) -> None:
    snapshots = NormalizedSnapshotStore(tmp_path / "lake")
    snapshots.write(snapshot(1, "negotiation", date(2025, 3, 20), date(2025, 3, 2), date(2025, 3, 25)))
    snapshots.write(snapshot(2, "closed_won", date(2025, 3, 20), date(2026, 3, 2), date(2025, 3, 25)))
    url = sqlite_url(tmp_path / "state.db")
    store, ledger = OutcomeStore(url), Ledger(url)
    first = observe_outcomes(snapshots, "acme", store, ledger, [], [])
    assert sorted((o.kind.value, o.entity_id, o.value) for o in first) == [
        ("close_date_held", "opp-1", None), ("deal_won", "opp-1", 9000.0), ("renewed", "acc-1", 50000.0)]
    assert observe_outcomes(snapshots, "acme", store, ledger, [], []) == []
    snapshots.write(snapshot(3, "closed_won", date(2025, 3, 20), date(2026, 3, 2), date(2025, 4, 4)))
    [slipped] = observe_outcomes(snapshots, "acme", store, ledger, [], [])
    assert (slipped.kind, slipped.value, slipped.observed_at.day) == (OutcomeKind.close_date_slipped, 10.0, 3)
    assert store.cursor("acme") == datetime(2025, 3, 3, 6, tzinfo=UTC)
    assert len(ledger.entries("acme", kind="outcome.observed")) == 4
