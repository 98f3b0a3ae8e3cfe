"""The demo world's engagement and condition ground truth: activities and LastStageChangeDate exported in
the demo CRM's shape, a healthy cadence that never looks idle, and condition events dated the day they
start holding."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from connectors.demo.catalog import ACTIVITY_WINDOW_DAYS
from connectors.demo.connector import DemoConnector
from connectors.demo.crm import DemoCrm
from connectors.demo.events import CONDITION_KINDS
from connectors.demo.world import DemoWorld
from perception.condition_rules import holding_kinds
from perception.normalize import normalize
from perception.thresholds import SignalThresholds


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> DemoWorld:
    world = DemoWorld.create(tmp_path_factory.mktemp("world"), ["acme"], 30, 5, 0.15)
    for _ in range(12):
        world.advance_day()
    return world


def test_activities_export_in_the_demo_crm_shape_and_normalize_cleanly(world: DemoWorld) -> None:
    folder = world.export_dir("acme")
    raw = pl.read_ndjson(folder / "activities.jsonl")
    assert set(raw.columns) == {"Id", "AccountId", "OpportunityId", "WhoId", "Type", "Direction__c",
                                "Subject", "ActivityDate"}
    assert set(raw["Direction__c"]) == {"Inbound", "Outbound", "Internal"}
    opps = pl.read_ndjson(folder / "opportunities.jsonl")
    assert opps["LastStageChangeDate"].null_count() == 0
    snapshot = normalize(DemoConnector(world.root).pull("acme"))
    assert snapshot.quarantine.height == 0
    activities = snapshot.table("activities")
    assert activities.height == raw.height and activities["occurred_on"].max() == world.current_day
    assert snapshot.table("opportunities")["stage_changed_on"].null_count() == 0


def test_a_quiet_world_raises_no_idle_or_ghosted_deals(tmp_path: Path) -> None:
    world = DemoWorld.create(tmp_path, ["acme"], 30, 2, 0.0)  # no injected events: only noise
    for _ in range(25):
        world.advance_day()
    kinds = Counter(e.kind for e in world.ground_truth())
    assert kinds["no_activity"] == 0 and kinds["ghosted"] == 0
    assert set(kinds) <= set(CONDITION_KINDS)  # no change event happens by itself


def test_condition_events_are_dated_the_day_they_start_holding(world: DemoWorld) -> None:
    connector, t = DemoConnector(world.root), SignalThresholds()
    conditions = [e for e in world.ground_truth() if e.kind in CONDITION_KINDS]
    assert {e.kind for e in conditions} >= {"stalled_in_stage", "ghosted", "no_economic_buyer"}

    def holding(day: object) -> set[tuple[str, str]]:
        frame = holding_kinds(normalize(connector.pull("acme", day)), t)  # type: ignore[arg-type]
        return set(frame.iter_rows())

    for event in conditions:
        assert (event.kind, event.entity_id) in holding(event.day), event
        assert (event.kind, event.entity_id) not in holding(event.day - timedelta(days=1)), event


def test_a_stage_written_through_the_crm_api_stamps_the_stage_change_day(world: DemoWorld) -> None:
    crm = DemoCrm(world.root)
    snapshot = normalize(DemoConnector(world.root).pull("acme"))
    opp = snapshot.table("opportunities").filter(pl.col("stage") == "discovery").row(0, named=True)
    crm.update_field("acme", "opportunities", opp["opportunity_id"], "stage", "proposal", "k-stage-1")
    record = crm.get_record("acme", "opportunities", opp["opportunity_id"])
    assert record is not None and record["stage_changed_on"] == world.current_day.isoformat()
    crm.update_field("acme", "opportunities", opp["opportunity_id"], "amount", 1.0, "k-amount-1")
    again = crm.get_record("acme", "opportunities", opp["opportunity_id"])
    assert again is not None and again["stage_changed_on"] == world.current_day.isoformat()


def test_the_world_keeps_and_exports_a_trailing_window_of_activities(tmp_path: Path) -> None:
    world = DemoWorld.create(tmp_path, ["acme"], 4, 9, 0.0)
    for _ in range(ACTIVITY_WINDOW_DAYS + 3):
        world.advance_day()
    days = pl.read_ndjson(world.export_dir("acme") / "activities.jsonl")["ActivityDate"].str.to_date()
    assert days.min() == world.current_day - timedelta(days=ACTIVITY_WINDOW_DAYS - 1)
