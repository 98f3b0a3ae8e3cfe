"""A failing expectation holds back only the tenant whose snapshot failed; the others' signals flow."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from ledger.sql import sqlite_url
from ledger.store import Ledger
from perception.normalize import NormalizedSnapshot
from perception.quality_gate import QualityGate, check_new_snapshots
from perception.schemas import SCHEMAS
from perception.signal_store import SignalStore
from perception.snapshot_store import NormalizedSnapshotStore
from perception.stage import SenseCursor, sense_snapshot_signals

DAYS = [datetime(2026, 3, d, 6, tzinfo=UTC) for d in (1, 2, 3)]


def snapshot(tenant: str, at: datetime, close: date, seats: int = 50) -> NormalizedSnapshot:
    accounts = pl.DataFrame([{"tenant": tenant, "account_id": "A1", "name": "Acme", "domain": "acme.example",
                              "industry": "retail", "owner_email": "rep@v.example", "arr": 90_000.0,
                              "seats_licensed": seats, "renewal_date": date(2027, 1, 1)}],
                            schema=SCHEMAS["accounts"])
    opps = pl.DataFrame([{"tenant": tenant, "opportunity_id": "O1", "account_id": "A1", "name": "Renewal",
                          "stage": "proposal", "amount": 20_000.0, "close_date": close,
                          "owner_email": "rep@v.example", "stage_changed_on": date(2026, 2, 1)}],
                        schema=SCHEMAS["opportunities"])
    return NormalizedSnapshot(tenant, "demo", at, {"accounts": accounts, "opportunities": opps})


@pytest.fixture()
def env(tmp_path: Path) -> dict:
    url = sqlite_url(tmp_path / "state.sqlite")
    return {"store": NormalizedSnapshotStore(tmp_path / "normalized"), "gate": QualityGate(url),
            "signals": SignalStore(url), "cursor": SenseCursor(url), "ledger": Ledger(url)}


def sense(env: dict, tenant: str) -> list:
    return sense_snapshot_signals(env["store"], env["signals"], env["cursor"], env["ledger"], tenant,
                                  gate=env["gate"])


def test_a_failing_snapshot_holds_back_only_its_tenant(env: dict) -> None:
    store = env["store"]
    for tenant in ("acme", "globex"):
        store.write(snapshot(tenant, DAYS[0], date(2026, 4, 1)))
    # Day 2: both deals slip 20 days, but globex's export also claims 5 million licensed seats.
    store.write(snapshot("acme", DAYS[1], date(2026, 4, 21)))
    store.write(snapshot("globex", DAYS[1], date(2026, 4, 21), seats=5_000_000))

    run = check_new_snapshots(store, env["gate"], ["acme", "globex"])

    assert [(v.tenant, v.pulled_at) for v in run.held] == [("globex", DAYS[1])]
    assert run.held[0].failures == {"accounts": ["expect_column_values_to_be_between(seats_licensed)"]}
    assert [s.kind for s in sense(env, "acme")] == ["deal_slipped"]
    assert sense(env, "globex") == []  # held: no signal from bad data
    held = [e.payload for e in env["ledger"].entries("globex", kind="snapshot.held")]
    assert held == [{"pulled_at": DAYS[1].isoformat(),
                     "failures": {"accounts": ["expect_column_values_to_be_between(seats_licensed)"]}}]
    assert env["ledger"].entries("acme", kind="snapshot.held") == []


def test_the_next_good_snapshot_is_diffed_against_the_last_good_one(env: dict) -> None:
    store = env["store"]
    store.write(snapshot("globex", DAYS[0], date(2026, 4, 1)))
    store.write(snapshot("globex", DAYS[1], date(2026, 4, 21), seats=5_000_000))
    check_new_snapshots(store, env["gate"], ["globex"])
    assert sense(env, "globex") == []
    store.write(snapshot("globex", DAYS[2], date(2026, 4, 21)))
    assert check_new_snapshots(store, env["gate"], ["globex"]).held == []

    found = sense(env, "globex")

    assert [(s.kind, s.evidence[0].before, s.evidence[0].after) for s in found] == [
        ("deal_slipped", "2026-04-01", "2026-04-21")]


def test_an_unchecked_snapshot_is_not_sensed_until_it_has_a_verdict(env: dict) -> None:
    store = env["store"]
    store.write(snapshot("acme", DAYS[0], date(2026, 4, 1)))
    store.write(snapshot("acme", DAYS[1], date(2026, 4, 21)))
    assert sense(env, "acme") == []
    check_new_snapshots(store, env["gate"], ["acme"])
    assert [s.kind for s in sense(env, "acme")] == ["deal_slipped"]
    assert check_new_snapshots(store, env["gate"], ["acme"]).verdicts == []  # each snapshot checked once
