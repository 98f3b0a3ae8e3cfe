"""A live CRM through perception: HubSpot (the real SDK against a loopback portal) pulled in full, then
incrementally; each pull stored and ledgered, the increment normalized onto the state before it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from connectors.cursors import CursorStore
from connectors.object_store import LocalObjectStore
from ledger.sql import sqlite_url
from ledger.store import Ledger
from perception.snapshot_store import NormalizedSnapshotStore
from perception.stage import normalize_new_snapshots, pull_live_snapshot
from tests.integration.test_connectors_hubspot import (  # noqa: F401  (portal is a fixture)
    T0,
    Clock,
    FakePortal,
    connector,
    portal,
    record,
    seed,
)


def test_full_then_incremental_hubspot_pulls_become_full_canonical_states(
        portal: tuple[FakePortal, str], tmp_path: Path) -> None:  # noqa: F811
    state, host = portal
    seed(state)
    url = sqlite_url(tmp_path / "state.sqlite")
    cursors, ledger = CursorStore(url), Ledger(url)
    raw, normalized = LocalObjectStore(tmp_path / "lake"), NormalizedSnapshotStore(tmp_path / "lake")
    clock = Clock()

    first = pull_live_snapshot(connector(host, clock, cursors), raw, cursors, ledger, "acme")
    normalize_new_snapshots(raw, normalized, ledger, "acme", "hubspot")
    assert first.row_counts["accounts"] == 5

    state.objects["companies"][1] = record("101", T0 + timedelta(hours=2), name="Company 1 renamed",
                                           hubspot_owner_id="7")
    clock.at += timedelta(hours=3)
    second = pull_live_snapshot(connector(host, clock, cursors), raw, cursors, ledger, "acme")
    normalize_new_snapshots(raw, normalized, ledger, "acme", "hubspot")
    assert second.row_counts["accounts"] == 2  # the change and the re-read boundary record

    latest = normalized.latest("acme")
    assert latest is not None and latest.pulled_at == second.pulled_at
    names = dict(latest.table("accounts").select("account_id", "name").iter_rows())
    assert len(names) == 5 and names["101"] == "Company 1 renamed"
    assert latest.table("opportunities").height == 1 and latest.table("activities").height == 2

    pulls = [e.payload for e in ledger.entries("acme", kind="snapshot.pulled")]
    assert [p["complete"] for p in pulls] == [True, False]
    assert pulls[1]["cursors"]["companies"] == (T0 + timedelta(hours=2)).isoformat()
