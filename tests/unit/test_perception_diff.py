"""diff: inserted, deleted and changed records with field-level before/after."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from perception.contracts import ChangeType
from perception.diff import diff_frames, diff_snapshots, diff_tables
from perception.normalize import NormalizedSnapshot


def _opps(rows: list[tuple[str, str, str, float, date]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"tenant": "acme", "opportunity_id": i, "account_id": a, "stage": s, "amount": m, "close_date": d}
         for i, a, s, m, d in rows],
        schema={"tenant": pl.String, "opportunity_id": pl.String, "account_id": pl.String, "stage": pl.String,
                "amount": pl.Float64, "close_date": pl.Date})


BEFORE = _opps([("o1", "a1", "proposal", 100.0, date(2026, 3, 1)),
                ("o2", "a1", "discovery", 200.0, date(2026, 3, 1)),
                ("o3", "a2", "negotiation", 300.0, date(2026, 3, 1))])
AFTER = _opps([("o1", "a1", "discovery", 100.0, date(2026, 4, 15)),
               ("o2", "a1", "discovery", 200.0, date(2026, 3, 1)),
               ("o4", "a3", "qualification", 50.0, date(2026, 5, 1))])


def test_finds_inserted_deleted_and_changed_fields() -> None:
    changes = diff_tables("acme", "opportunities", BEFORE, AFTER, "opportunity_id")
    got = {(c.entity_id, c.change, c.field): (c.before, c.after) for c in changes}
    assert set(got) == {("o1", ChangeType.changed, "close_date"), ("o1", ChangeType.changed, "stage"),
                        ("o3", ChangeType.deleted, None), ("o4", ChangeType.inserted, None)}
    assert got[("o1", ChangeType.changed, "stage")] == ("proposal", "discovery")
    assert got[("o1", ChangeType.changed, "close_date")] == ("2026-03-01", "2026-04-15")
    assert got[("o4", ChangeType.inserted, None)][1]["stage"] == "qualification"
    assert got[("o3", ChangeType.deleted, None)][0]["amount"] == 300.0
    assert all(c.account_id for c in changes) and all(c.tenant == "acme" for c in changes)


def test_typed_values_and_nulls() -> None:
    after = BEFORE.with_columns(pl.when(pl.col("opportunity_id") == "o2").then(None)
                                .otherwise(pl.col("amount")).alias("amount"))
    changes = diff_tables("acme", "opportunities", BEFORE, after, "opportunity_id")
    assert [(c.entity_id, c.field, c.before, c.after) for c in changes] == [("o2", "amount", 200.0, None)]


def test_identical_frames_have_no_changes_and_no_previous_means_all_inserted() -> None:
    assert diff_frames(BEFORE, BEFORE, "opportunity_id").height == 0
    first = diff_frames(None, AFTER, "opportunity_id")
    assert first["change"].to_list() == ["inserted"] * 3


def test_frame_level_diff_at_scale_only_reports_real_changes() -> None:
    n = 200_000
    before = pl.DataFrame({"tenant": ["t"] * n, "account_id": [f"a{i}" for i in range(n)],
                           "arr": [float(i) for i in range(n)]})
    after = before.with_columns(pl.when(pl.col("account_id").is_in(["a7", "a99999"]))
                                .then(pl.col("arr") + 1).otherwise(pl.col("arr")).alias("arr"))
    changes = diff_frames(before, after, "account_id")
    assert changes.select("entity_id", "before", "after").rows() == [("a7", "7.0", "8.0"),
                                                                      ("a99999", "99999.0", "100000.0")]


def test_diff_snapshots_covers_crm_tables() -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    prev = NormalizedSnapshot("acme", "demo", at, {"opportunities": BEFORE})
    cur = NormalizedSnapshot("acme", "demo", at, {"opportunities": AFTER})
    changes = diff_snapshots(prev, cur)
    assert {c.object for c in changes} == {"opportunities"}
    assert len(changes) == 4
