"""Change rules as polars expressions over a TableDiff: a million-row diff becomes signals without a
Python object per change. Only the rows a rule fires on become Signal objects (`to_signals`).

    diff = diff_wide(previous.table("opportunities"), current.table("opportunities"), "opportunity_id")
    frame = opportunity_change_signals(current.tenant, diff, current.table("accounts"), thresholds)
    signals = to_signals(frame, observed_at=current.pulled_at, source=current.source)
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from perception.contracts import Evidence, Severity, Signal, SignalKind
from perception.diff import BEFORE_SUFFIX, TableDiff
from perception.schemas import OPEN_STAGES
from perception.thresholds import SignalThresholds

SIGNAL_FRAME = pl.Schema({
    "tenant": pl.String, "account_id": pl.String, "entity_type": pl.String, "entity_id": pl.String,
    "kind": pl.String, "severity": pl.String, "field": pl.String, "before": pl.String, "after": pl.String,
    "note": pl.String, "dedupe_key": pl.String, "narrative": pl.String,
})


def _before(name: str) -> pl.Expr:
    return pl.col(name + BEFORE_SUFFIX)


def _account_names(changed: pl.DataFrame, accounts: pl.DataFrame | None) -> pl.DataFrame:
    if accounts is None or accounts.height == 0 or "account_id" not in changed.columns:
        return changed.with_columns(pl.col("account_id").alias("__account_name"))
    names = accounts.select("account_id", pl.col("name").alias("__account_name"))
    return changed.join(names, on="account_id", how="left").with_columns(
        pl.coalesce("__account_name", "account_id").alias("__account_name"))


def _emit(frame: pl.DataFrame, tenant: str, kind: SignalKind, entity_type: str, key: str, field: str,
          severity: pl.Expr, note: pl.Expr, dedupe_tail: pl.Expr, narrative: pl.Expr) -> pl.DataFrame:
    return frame.select(
        pl.lit(tenant).alias("tenant"), pl.col("account_id").cast(pl.String),
        pl.lit(entity_type).alias("entity_type"), pl.col(key).cast(pl.String).alias("entity_id"),
        pl.lit(kind.value).alias("kind"), severity.alias("severity"), pl.lit(field).alias("field"),
        _before(field).cast(pl.String).alias("before"), pl.col(field).cast(pl.String).alias("after"),
        note.alias("note"),
        pl.concat_str([pl.lit(f"{tenant}|{kind.value}|"), pl.col(key).cast(pl.String), dedupe_tail])
        .alias("dedupe_key"),
        narrative.alias("narrative"),
    )


def opportunity_change_signals(tenant: str, diff: TableDiff, accounts: pl.DataFrame | None,
                               t: SignalThresholds, observed_on: str) -> pl.DataFrame:
    """deal_slipped and stage_regression over changed opportunities (SIGNAL_FRAME rows)."""
    changed = diff.changed
    if changed.height == 0 or "close_date" not in diff.fields or "stage" not in diff.fields:
        return pl.DataFrame(schema=SIGNAL_FRAME)
    changed = _account_names(changed, accounts)
    key = diff.key
    deal = pl.coalesce(pl.col("name"), pl.col(key))
    at = pl.col("__account_name")
    high_value = pl.col("amount").fill_null(0.0) >= t.high_value_amount

    days = (pl.col("close_date") - _before("close_date")).dt.total_days()
    slipped = changed.with_columns(days.alias("__days")).filter(
        pl.col("stage").is_in(list(OPEN_STAGES)) & (pl.col("__days") >= t.slip_min_days))
    slip = _emit(
        slipped, tenant, SignalKind.deal_slipped, "opportunity", key, "close_date",
        severity=pl.when((pl.col("__days") >= t.slip_high_days) | high_value)
        .then(pl.lit(Severity.high.value))
        .when(pl.col("__days") >= t.slip_medium_days).then(pl.lit(Severity.medium.value))
        .otherwise(pl.lit(Severity.low.value)),
        note=pl.format("slipped {} days", pl.col("__days")),
        dedupe_tail=pl.concat_str([pl.lit("|"), pl.col("close_date").cast(pl.String)]),
        narrative=pl.format("Deal {} at {} slipped {} days: close date moved from {} to {}.", deal, at,
                            pl.col("__days"), _before("close_date"), pl.col("close_date")),
    )

    order = {stage: i for i, stage in enumerate(OPEN_STAGES)}
    steps = (pl.col(f"stage{BEFORE_SUFFIX}").replace_strict(order, default=None, return_dtype=pl.Int32)
             - pl.col("stage").replace_strict(order, default=None, return_dtype=pl.Int32))
    regressed = changed.with_columns(steps.alias("__steps")).filter(pl.col("__steps") > 0)
    regression = _emit(
        regressed, tenant, SignalKind.stage_regression, "opportunity", key, "stage",
        severity=pl.when((pl.col("__steps") >= t.regression_high_steps) | high_value)
        .then(pl.lit(Severity.high.value)).otherwise(pl.lit(Severity.medium.value)),
        note=pl.format("back {} stage(s)", pl.col("__steps")),
        dedupe_tail=pl.format("|{}>{}|{}", _before("stage"), pl.col("stage"), pl.lit(observed_on)),
        narrative=pl.format("Deal {} at {} moved back from {} to {}.", deal, at, _before("stage"),
                            pl.col("stage")),
    )
    return pl.concat([slip, regression]).sort("dedupe_key")


def to_signals(frame: pl.DataFrame, observed_at: datetime, source: str) -> list[Signal]:
    """SIGNAL_FRAME rows -> Signal contracts (only the rows rules fired on)."""
    return [
        Signal(tenant=r["tenant"], account_id=r["account_id"], entity_type=r["entity_type"],
               entity_id=r["entity_id"], kind=SignalKind(r["kind"]), severity=Severity(r["severity"]),
               evidence=[Evidence(object=_OBJECTS[r["entity_type"]], entity_id=r["entity_id"],
                                  field=r["field"], before=r["before"], after=r["after"], note=r["note"])],
               observed_at=observed_at, source=source, dedupe_key=r["dedupe_key"], narrative=r["narrative"])
        for r in frame.iter_rows(named=True)
    ]


_OBJECTS = {"opportunity": "opportunities", "account": "accounts", "contact": "contacts"}
