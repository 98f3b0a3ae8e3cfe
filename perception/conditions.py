"""Which risky states hold in one normalized snapshot, as of its day: one polars frame per condition kind.

Every frame has entity_id, account_id, began_on (the day the state started holding, where the data
tells; otherwise the snapshot's day) and the facts its signal reports. condition_rules.py turns the
states that were not holding in the previous snapshot into signals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl

from perception.contracts import SignalKind
from perception.normalize import NormalizedSnapshot
from perception.schemas import OPEN_STAGES
from perception.thresholds import SignalThresholds


def _days(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    return (later - earlier).dt.total_days()


@dataclass(frozen=True)
class SnapshotFacts:
    """Per open deal: its account, last customer-facing activity, last inbound reply, outbound touches
    since, and the account's active contacts; plus the accounts table."""

    as_of: date
    deals: pl.DataFrame
    accounts: pl.DataFrame

    @classmethod
    def of(cls, snapshot: NormalizedSnapshot, t: SignalThresholds) -> SnapshotFacts:
        accounts = snapshot.table("accounts").select(
            "account_id", pl.col("name").alias("account_name"), "arr", "renewal_date")
        acts = snapshot.table("activities").filter(pl.col("opportunity_id").is_not_null())
        touched = acts.filter(pl.col("direction").is_in(["inbound", "outbound"])) \
            .group_by("opportunity_id").agg(pl.col("occurred_on").max().alias("last_touch"))
        replied = acts.filter(pl.col("direction") == "inbound") \
            .group_by("opportunity_id").agg(pl.col("occurred_on").max().alias("last_inbound"))
        kth = pl.col("occurred_on").sort().slice(t.ghosted_min_outbound - 1, 1).first()
        chased = acts.filter(pl.col("direction") == "outbound").join(replied, on="opportunity_id") \
            .filter(pl.col("occurred_on") > pl.col("last_inbound")).group_by("opportunity_id").agg(
                pl.len().alias("outbound_since"), kth.alias("kth_outbound"))
        people = snapshot.table("contacts").filter(pl.col("status") == "active").group_by("account_id").agg(
            pl.len().alias("active_contacts"), (pl.col("role") == "economic_buyer").any().alias("has_buyer"))
        deals = snapshot.table("opportunities").filter(pl.col("stage").is_in(list(OPEN_STAGES))).select(
            "opportunity_id", "account_id", "name", "stage", "amount", "stage_changed_on",
        ).join(accounts, on="account_id", how="left") \
            .join(touched, on="opportunity_id", how="left").join(replied, on="opportunity_id", how="left") \
            .join(chased, on="opportunity_id", how="left").join(people, on="account_id", how="left") \
            .with_columns(pl.col("active_contacts").fill_null(0).cast(pl.Int64),
                          pl.col("has_buyer").fill_null(False),
                          pl.col("outbound_since").fill_null(0).cast(pl.Int64),
                          pl.col("opportunity_id").alias("entity_id"))
        return cls(snapshot.pulled_at.date(), deals, accounts)


def no_activity(f: SnapshotFacts, t: SignalThresholds) -> pl.DataFrame:
    reference = pl.coalesce("last_touch", "stage_changed_on")
    idle = _days(pl.lit(f.as_of), pl.col("reference"))
    return f.deals.with_columns(reference.alias("reference")).filter(
        pl.col("reference").is_not_null() & (idle >= t.no_activity_days)
    ).with_columns((pl.col("reference") + pl.duration(days=t.no_activity_days)).alias("began_on"))


def ghosted(f: SnapshotFacts, t: SignalThresholds) -> pl.DataFrame:
    return f.deals.filter(
        pl.col("last_inbound").is_not_null() & (pl.col("outbound_since") >= t.ghosted_min_outbound)
        & (_days(pl.lit(f.as_of), pl.col("last_inbound")) >= t.ghosted_days)
    ).with_columns(pl.max_horizontal(pl.col("last_inbound") + pl.duration(days=t.ghosted_days),
                                     pl.col("kth_outbound")).alias("began_on"))


def too_few_contacts(f: SnapshotFacts, t: SignalThresholds) -> pl.DataFrame:
    return f.deals.filter(pl.col("active_contacts") < t.min_active_contacts) \
        .with_columns(pl.lit(f.as_of).alias("began_on"))


def no_economic_buyer(f: SnapshotFacts, t: SignalThresholds) -> pl.DataFrame:
    return f.deals.filter(pl.col("stage").is_in(list(t.economic_buyer_stages)) & ~pl.col("has_buyer")) \
        .with_columns(pl.lit(f.as_of).alias("began_on"))


def stalled_in_stage(f: SnapshotFacts, t: SignalThresholds) -> pl.DataFrame:
    limit = pl.col("stage").replace_strict(t.stall_days, default=None, return_dtype=pl.Int64)
    began = pl.col("stage_changed_on") + pl.duration(days=pl.col("stall_limit") + 1)
    return f.deals.with_columns(limit.alias("stall_limit"),
                                _days(pl.lit(f.as_of), pl.col("stage_changed_on")).alias("days_in_stage")) \
        .filter(pl.col("days_in_stage").is_not_null() & (pl.col("days_in_stage") > pl.col("stall_limit"))) \
        .with_columns(began.alias("began_on"))


def renewal_approaching(f: SnapshotFacts, t: SignalThresholds) -> pl.DataFrame:
    left = _days(pl.col("renewal_date"), pl.lit(f.as_of))
    return f.accounts.with_columns(left.alias("days_left"), pl.col("account_id").alias("entity_id")) \
        .filter(pl.col("days_left").is_between(0, t.renewal_window_days)) \
        .with_columns((pl.col("renewal_date") - pl.duration(days=t.renewal_window_days)).alias("began_on"))


CONDITION_CHECKS: dict[SignalKind, Callable[[SnapshotFacts, SignalThresholds], pl.DataFrame]] = {
    SignalKind.no_activity: no_activity,
    SignalKind.ghosted: ghosted,
    SignalKind.too_few_contacts: too_few_contacts,
    SignalKind.no_economic_buyer: no_economic_buyer,
    SignalKind.stalled_in_stage: stalled_in_stage,
    SignalKind.renewal_approaching: renewal_approaching,
}
