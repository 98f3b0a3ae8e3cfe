"""The demo world: deterministic, resumable across processes, honest ground truth, real corruption."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from connectors.demo.events import CONDITION_KINDS, EVENT_KINDS
from connectors.demo.world import DemoWorld, DemoWorldError
from perception.contracts import SignalKind


def _export_bytes(root: Path) -> dict[str, bytes]:
    out = {}
    for path in sorted((root / "exports").rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".parquet":  # compare content, not the writer's metadata
                data = pl.read_parquet(path).write_csv().encode()
            out[str(path.relative_to(root))] = data
    return out


def _run(root: Path, seed: int, days: int = 5) -> None:
    world = DemoWorld.create(root, ["acme", "globex"], 15, seed, 0.1)
    for _ in range(days):
        world.advance_day()


def test_same_seed_gives_identical_exports_and_truth(tmp_path: Path) -> None:
    _run(tmp_path / "a", seed=5)
    _run(tmp_path / "b", seed=5)
    assert _export_bytes(tmp_path / "a") == _export_bytes(tmp_path / "b")
    truth = [(tmp_path / x / "ground_truth.jsonl").read_text() for x in ("a", "b")]
    assert truth[0] == truth[1] and truth[0]


def test_different_seed_gives_different_world(tmp_path: Path) -> None:
    _run(tmp_path / "a", seed=5, days=1)
    _run(tmp_path / "b", seed=6, days=1)
    assert _export_bytes(tmp_path / "a") != _export_bytes(tmp_path / "b")


def test_world_advances_across_reopen_like_another_process(tmp_path: Path) -> None:
    _run(tmp_path / "straight", seed=9, days=4)
    DemoWorld.create(tmp_path / "resumed", ["acme", "globex"], 15, 9, 0.1).advance_day()
    for _ in range(3):
        DemoWorld.open(tmp_path / "resumed").advance_day()
    assert DemoWorld.open(tmp_path / "resumed").current_day == date(2026, 1, 5)
    assert _export_bytes(tmp_path / "straight") == _export_bytes(tmp_path / "resumed")


def test_create_is_idempotent_and_refuses_other_parameters(tmp_path: Path) -> None:
    world = DemoWorld.create(tmp_path, ["acme"], 5, 1, 0.1)
    world.advance_day()
    again = DemoWorld.create(tmp_path, ["acme"], 5, 1, 0.1)
    assert again.current_day == date(2026, 1, 2)
    with pytest.raises(DemoWorldError, match="already exists"):
        DemoWorld.create(tmp_path, ["acme"], 6, 1, 0.1)


def test_open_without_world_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DemoWorldError, match=r"DemoWorld\.create"):
        DemoWorld.open(tmp_path / "nothing")


def test_population_shape(tmp_path: Path) -> None:
    DemoWorld.create(tmp_path, ["acme"], 30, 3, 0.0)
    folder = tmp_path / "exports" / "acme" / "2026-01-01"
    contacts = pl.read_ndjson(folder / "contacts.jsonl")
    per_account = contacts.group_by("AccountId").agg(
        pl.len().alias("n"), (pl.col("Role__c") == "Champion").sum().alias("champions"))
    assert per_account.height == 30
    assert per_account["n"].min() >= 2 and per_account["n"].max() <= 6
    assert per_account["champions"].min() >= 1
    opps = pl.read_ndjson(folder / "opportunities.jsonl")
    assert opps.group_by("AccountId").len()["len"].max() <= 3
    usage = pl.read_parquet(folder / "usage.parquet")
    assert usage["usage_date"].n_unique() == 28  # trailing history for the usage rules
    assert usage["product_sku"].n_unique() in (2, 3)


def test_ground_truth_file_matches_store_and_kinds_match_taxonomy(tmp_path: Path) -> None:
    world = DemoWorld.create(tmp_path, ["acme", "globex"], 30, 2, 0.2)
    injected = [e for _ in range(6) for e in world.advance_day()]
    assert injected and world.ground_truth() == injected
    lines = (tmp_path / "ground_truth.jsonl").read_text().splitlines()
    assert [json.loads(line)["entity_id"] for line in lines] == [e.entity_id for e in injected]
    assert set(EVENT_KINDS) == {k.value for k in SignalKind}
    assert {e.kind for e in injected} <= set(EVENT_KINDS)
    since = date(2026, 1, 7)
    assert world.ground_truth(since_day=since) == [e for e in injected if e.day >= since]


def test_event_effects_show_in_that_days_export(tmp_path: Path) -> None:
    world = DemoWorld.create(tmp_path, ["acme"], 40, 4, 0.3)
    events = [e for _ in range(4) for e in world.advance_day()]
    slipped = next(e for e in events if e.kind == "deal_slipped")
    departed = next(e for e in events if e.kind == "champion_departed")

    def export(event_day: date, name: str) -> dict[str, dict]:
        folder = tmp_path / "exports" / "acme" / event_day.isoformat()
        return {r["Id"]: r for r in pl.read_ndjson(folder / f"{name}.jsonl").to_dicts()}

    assert export(slipped.day, "opportunities")[slipped.entity_id]["CloseDate"] == \
        slipped.details["close_date_after"]
    assert export(departed.day, "contacts")[departed.entity_id]["Status__c"] == "No Longer at Company"


def test_corruption_writes_malformed_records_without_ground_truth(tmp_path: Path) -> None:
    world = DemoWorld.create(tmp_path / "corrupt", ["acme"], 60, 8, 0.0, corruption_rate=0.1)
    clean = DemoWorld.create(tmp_path / "clean", ["acme"], 60, 8, 0.0)
    for _ in range(3):
        world.advance_day()
        clean.advance_day()
    folder = tmp_path / "corrupt" / "exports" / "acme" / "2026-01-02"
    rows = [json.loads(line) for line in (folder / "accounts.jsonl").read_text().splitlines()]
    ids = [r.get("Id") for r in rows]
    assert None in ids  # missing ids
    assert len([i for i in ids if i]) > len({i for i in ids if i})  # duplicate keys
    # no events injected; the truth is what the world really did, whatever its exports looked like
    assert {e.kind for e in world.ground_truth()} <= set(CONDITION_KINDS)
    assert world.ground_truth() == clean.ground_truth()
