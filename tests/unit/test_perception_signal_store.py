"""SignalStore: one row per (tenant, dedupe key), even under concurrent writers; per-stage progress."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from perception.contracts import Evidence, Severity, Signal, SignalKind
from perception.signal_store import SignalStore

T0 = datetime(2026, 1, 2, 23, 59, 59, tzinfo=UTC)


def _signal(tenant: str, key: str, kind: SignalKind = SignalKind.usage_drop, day: int = 0) -> Signal:
    return Signal(tenant=tenant, account_id="a1", entity_type="account", entity_id="a1", kind=kind,
                  severity=Severity.medium, evidence=[Evidence(object="usage", entity_id="a1", field="x",
                                                               before=10, after=3)],
                  observed_at=T0 + timedelta(days=day), source="demo", dedupe_key=f"{tenant}|{key}",
                  narrative="Usage fell.")


@pytest.fixture()
def store(tmp_path: Path) -> SignalStore:
    return SignalStore(f"sqlite:///{tmp_path / 'state.sqlite'}")


def test_add_new_returns_only_unseen_and_round_trips(store: SignalStore) -> None:
    a, b = _signal("acme", "k1"), _signal("acme", "k2", SignalKind.deal_slipped, day=1)
    assert store.add_new([a, b, a]) == [a, b]
    assert store.add_new([a, _signal("globex", "k1")]) == [_signal("globex", "k1")]
    assert store.get(a.signal_id) == a and store.get("sig_missing") is None
    assert store.counts_by_kind() == {"usage_drop": 2, "deal_slipped": 1}
    assert store.counts_by_kind("acme") == {"usage_drop": 1, "deal_slipped": 1}


def test_list_filters_by_tenant_kind_and_time(store: SignalStore) -> None:
    store.add_new([_signal("acme", "k1"), _signal("acme", "k2", SignalKind.deal_slipped, day=2),
                   _signal("globex", "k3")])
    assert [s.dedupe_key for s in store.list("acme")] == ["acme|k1", "acme|k2"]
    assert [s.dedupe_key for s in store.list(kinds=["deal_slipped"])] == ["acme|k2"]
    assert [s.dedupe_key for s in store.list(since=T0 + timedelta(days=1))] == ["acme|k2"]


def test_unprocessed_per_stage(store: SignalStore) -> None:
    signals = [_signal("acme", f"k{i}", day=i) for i in range(3)]
    store.add_new(signals)
    store.mark_processed("graph", [signals[0].signal_id, signals[0].signal_id])
    assert [s.dedupe_key for s in store.unprocessed("graph")] == ["acme|k1", "acme|k2"]
    assert len(store.unprocessed("memory")) == 3 and store.unprocessed("graph", tenant="globex") == []
    store.mark_processed("graph", [s.signal_id for s in signals])
    assert store.unprocessed("graph") == []


def test_concurrent_writers_store_each_signal_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    SignalStore(url)
    batch = [_signal("acme", f"k{i}") for i in range(20)]
    returned: list[list[Signal]] = []
    barrier = threading.Barrier(8)

    def write() -> None:
        mine = SignalStore(url)
        barrier.wait()
        returned.append(mine.add_new(batch))

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r) for r in returned) == [0] * 7 + [20]
    assert len(SignalStore(url).list()) == 20
