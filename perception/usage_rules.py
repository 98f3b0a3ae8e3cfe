"""Usage rules: each account's latest day of telemetry against its own trailing history.

The day a condition began (its onset) is part of the dedupe key, so the same drop or expansion seen
again in the next days' snapshots yields the same key and is stored once."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from perception.contracts import Evidence, Severity, Signal, SignalKind
from perception.heat import heat_score
from perception.normalize import NormalizedSnapshot
from perception.thresholds import SignalThresholds


def _daily(usage: pl.DataFrame, t: SignalThresholds) -> pl.DataFrame:
    daily = usage.group_by("account_id", "day").agg(
        pl.col("active_users").sum().alias("active"), pl.col("seats_used").max().alias("seats"),
    ).sort("account_id", "day")
    baseline = lambda col: pl.col(col).shift(1).rolling_median(  # noqa: E731
        window_size=t.baseline_days, min_samples=t.min_history_days).over("account_id")
    return daily.with_columns(baseline("active").alias("active_ref"), baseline("seats").alias("seats_ref"))


def _latest_onsets(frame: pl.DataFrame, flag: pl.Expr, today: date, t: SignalThresholds) -> pl.DataFrame:
    """Per account: the latest day a flagged run began, if within max_age_days of today."""
    flagged = frame.sort("account_id", "day").with_columns(flag.fill_null(False).alias("__flag"))
    flagged = flagged.with_columns(
        (pl.col("__flag") & ~pl.col("__flag").shift(1).fill_null(False).over("account_id")).alias("__onset"))
    return flagged.filter(pl.col("__onset") & ((pl.lit(today) - pl.col("day")).dt.total_days()
                                               <= t.max_age_days)) \
        .group_by("account_id").agg(pl.all().sort_by("day").last())


def usage_signals(current: NormalizedSnapshot, t: SignalThresholds) -> list[Signal]:
    usage = current.table("usage")
    if usage.height == 0:
        return []
    today = usage["day"].max()
    assert isinstance(today, date)
    daily = _daily(usage, t)
    now = daily.filter(pl.col("day") == today).select("account_id", pl.col("active").alias("active_now"),
                                                       pl.col("seats").alias("seats_now"))
    accounts = current.table("accounts").select("account_id", "name", "seats_licensed", "arr")
    signals = []

    drops = _latest_onsets(daily, pl.col("active") < t.usage_drop_ratio * pl.col("active_ref"), today, t) \
        .join(now, on="account_id").join(accounts, on="account_id", how="left") \
        .filter(pl.col("active_now") < t.usage_drop_ratio * pl.col("active_ref"))
    for row in drops.sort("account_id").iter_rows(named=True):
        signals.append(_drop_signal(current, row, t))

    with_licence = daily.join(accounts.select("account_id", "seats_licensed"), on="account_id") \
        .filter(pl.col("seats_licensed") > 0)
    ratio = pl.col("seats") / pl.col("seats_licensed")
    ref_ratio = pl.col("seats_ref") / pl.col("seats_licensed")
    crossed = (ratio >= t.expansion_seat_ratio) & (ref_ratio < t.expansion_baseline_ratio)
    rises = _latest_onsets(with_licence, crossed, today, t).join(now, on="account_id") \
        .join(accounts.select("account_id", "name", "arr"), on="account_id", how="left") \
        .filter(pl.col("seats_now") >= t.expansion_seat_ratio * pl.col("seats_licensed"))
    for row in rises.sort("account_id").iter_rows(named=True):
        signals.append(_expansion_signal(current, row, t))
    return signals


def _label(row: dict) -> str:
    return f"{row.get('name') or row['account_id']}"


def _drop_signal(current: NormalizedSnapshot, row: dict, t: SignalThresholds) -> Signal:
    ref, now, onset = float(row["active_ref"]), int(row["active_now"]), row["day"]
    ratio = now / ref if ref else 0.0
    severity = Severity.high if ratio <= t.usage_high_drop_ratio else Severity.medium
    return _signal(current, row, SignalKind.usage_drop, severity, onset, t, Evidence(
        object="usage", entity_id=row["account_id"], field="active_users", before=round(ref, 1), after=now,
        note=f"daily active users vs the median of the {t.baseline_days} days before {onset.isoformat()}"),
        f"Daily active users at {_label(row)} fell {100 * (1 - ratio):.0f}% (from about {ref:.0f} to "
        f"{now}) starting {onset.isoformat()}.")


def _expansion_signal(current: NormalizedSnapshot, row: dict, t: SignalThresholds) -> Signal:
    licensed, now, onset = int(row["seats_licensed"]), int(row["seats_now"]), row["day"]
    ref = float(row["seats_ref"])
    severity = Severity.high if now >= t.expansion_high_seat_ratio * licensed else Severity.medium
    return _signal(current, row, SignalKind.expansion_intent, severity, onset, t, Evidence(
        object="usage", entity_id=row["account_id"], field="seats_used", before=round(ref, 1), after=now,
        note=f"{licensed} seats licensed"),
        f"{_label(row)} is using {now} of {licensed} licensed seats ({100 * now / licensed:.0f}%), up from "
        f"about {ref:.0f}, since {onset.isoformat()}: likely ready to expand.")


def _signal(current: NormalizedSnapshot, row: dict, kind: SignalKind, severity: Severity,
            onset: date, t: SignalThresholds, evidence: Evidence, narrative: str) -> Signal:
    observed: datetime = current.pulled_at
    account_id = row["account_id"]
    return Signal(tenant=current.tenant, account_id=account_id, entity_type="account", entity_id=account_id,
                  kind=kind, severity=severity, evidence=[evidence], observed_at=observed,
                  source=current.source, narrative=narrative,
                  heat=heat_score(severity, row.get("arr"), t, onset, observed.date()),
                  dedupe_key=f"{current.tenant}|{kind.value}|{account_id}|{onset.isoformat()}")
