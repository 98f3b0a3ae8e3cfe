"""Read tools over the latest canonical snapshot: an account's commercial window and product health."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from pydantic import Field

from decisioning.contracts import RiskTier
from decisioning.tools.contracts import ToolInput, ToolSpec
from decisioning.tools.ports import SnapshotReads
from perception.normalize import NormalizedSnapshot
from perception.schemas import OPEN_STAGES

ACCOUNT_ID = Field(min_length=1, max_length=200, description="The account's id in the tenant's CRM.")
RECENT_DAYS = 7
DECLINE_PCT = -20.0
GROWTH_PCT = 20.0


class CommercialWindowInput(ToolInput):
    account_id: str = ACCOUNT_ID


class HealthSummaryInput(ToolInput):
    account_id: str = ACCOUNT_ID
    baseline_days: int = Field(28, ge=7, le=180, description=(
        "How many days before the last week form the baseline the last week is compared with."))


def _days(later: date | None, earlier: date) -> int | None:
    return None if later is None else (later - earlier).days


def _rows(snapshot: NormalizedSnapshot, table: str, tenant: str, account_id: str) -> pl.DataFrame:
    frame = snapshot.table(table)
    return frame.filter((pl.col("tenant") == tenant) & (pl.col("account_id") == account_id))


def _missing(tenant: str, account_id: str, snapshot: NormalizedSnapshot | None) -> dict[str, Any] | None:
    if snapshot is None:
        return {"found": False, "account_id": account_id,
                "reason": f"no canonical snapshot of tenant {tenant} exists yet"}
    return None


def commercial_window(snapshots: SnapshotReads, tenant: str, args: CommercialWindowInput) -> dict[str, Any]:
    snapshot = snapshots.latest(tenant)
    if (missing := _missing(tenant, args.account_id, snapshot)) is not None:
        return missing
    assert snapshot is not None
    as_of = snapshot.pulled_at.date()
    accounts = _rows(snapshot, "accounts", tenant, args.account_id)
    if accounts.height == 0:
        return {"found": False, "account_id": args.account_id, "as_of": as_of.isoformat(),
                "reason": "the account is not in the latest snapshot"}
    account = accounts.row(0, named=True)
    opportunities = _rows(snapshot, "opportunities", tenant, args.account_id) \
        .filter(pl.col("stage").is_in(list(OPEN_STAGES))) \
        .sort("close_date", "opportunity_id", nulls_last=True)
    open_deals = [{
        "opportunity_id": row["opportunity_id"], "name": row["name"], "stage": row["stage"],
        "amount": row["amount"], "close_date": row["close_date"].isoformat() if row["close_date"] else None,
        "days_to_close": _days(row["close_date"], as_of), "owner_email": row["owner_email"],
    } for row in opportunities.iter_rows(named=True)]
    renewal: date | None = account["renewal_date"]
    closes = [d["close_date"] for d in open_deals if d["close_date"]]
    return {
        "found": True, "account_id": args.account_id, "as_of": as_of.isoformat(), "name": account["name"],
        "owner_email": account["owner_email"], "arr": account["arr"],
        "seats_licensed": account["seats_licensed"],
        "renewal_date": renewal.isoformat() if renewal else None, "days_to_renewal": _days(renewal, as_of),
        "open_opportunities": open_deals,
        "open_pipeline_amount": sum(d["amount"] or 0.0 for d in open_deals),
        "next_close_date": min(closes) if closes else None,
    }


def _trend(change_pct: float | None) -> str:
    if change_pct is None:
        return "insufficient_data"
    if change_pct <= DECLINE_PCT:
        return "declining"
    return "growing" if change_pct >= GROWTH_PCT else "stable"


def health_summary(snapshots: SnapshotReads, tenant: str, args: HealthSummaryInput) -> dict[str, Any]:
    snapshot = snapshots.latest(tenant)
    if (missing := _missing(tenant, args.account_id, snapshot)) is not None:
        return missing
    assert snapshot is not None
    usage = _rows(snapshot, "usage", tenant, args.account_id)
    if usage.height == 0:
        return {"found": False, "account_id": args.account_id, "reason": "no product usage is recorded"}
    daily = usage.group_by("day").agg(pl.col("active_users").sum().alias("active"),
                                      pl.col("seats_used").max().alias("seats")).sort("day")
    last_day: date = daily["day"].max()  # type: ignore[assignment]
    age = (pl.lit(last_day) - pl.col("day")).dt.total_days()
    recent = daily.filter(age < RECENT_DAYS)
    baseline = daily.filter((age >= RECENT_DAYS) & (age < RECENT_DAYS + args.baseline_days))
    recent_avg = recent["active"].mean()
    baseline_avg = baseline["active"].mean() if baseline.height else None
    change = None
    if isinstance(recent_avg, float | int) and isinstance(baseline_avg, float | int) and baseline_avg > 0:
        change = round((recent_avg - baseline_avg) / baseline_avg * 100, 1)
    seats_now = daily.filter(pl.col("day") == last_day)["seats"].item()
    licensed = _rows(snapshot, "accounts", tenant, args.account_id)["seats_licensed"]
    seats_licensed = licensed.item() if licensed.len() == 1 else None
    products = usage.filter(pl.col("day") == last_day).sort("product")
    return {
        "found": True, "account_id": args.account_id, "last_day": last_day.isoformat(),
        "active_users_last_7d_avg": round(float(recent_avg), 1) if recent_avg is not None else None,
        "active_users_baseline_avg": round(float(baseline_avg), 1) if baseline_avg is not None else None,
        "baseline_days_seen": baseline.height, "change_pct": change, "trend": _trend(change),
        "seats_used": seats_now, "seats_licensed": seats_licensed,
        "seat_utilisation": round(seats_now / seats_licensed, 3) if seats_licensed and seats_now is not None
        else None,
        "products": [{"product": r["product"], "active_users": r["active_users"],
                      "seats_used": r["seats_used"]} for r in products.iter_rows(named=True)],
        "daily_active_users": [{"day": r["day"].isoformat(), "active": r["active"]}
                               for r in daily.tail(14).iter_rows(named=True)],
    }


def snapshot_tools(snapshots: SnapshotReads) -> list[ToolSpec]:
    return [
        ToolSpec(
            name="crm.get_commercial_window",
            description=("The account's commercial window from the latest CRM snapshot: ARR, seats, renewal "
                         "date and days to it, open opportunities with amounts, stages and close dates."),
            input_model=CommercialWindowInput, tier=RiskTier.L1, reads="crm",
            handler=lambda tenant, args: commercial_window(snapshots, tenant, args),
        ),
        ToolSpec(
            name="telemetry.get_health_summary",
            description=("Product usage health: daily active users of the last 7 days against a baseline, "
                         "the trend (declining/stable/growing), seat utilisation and per-product usage."),
            input_model=HealthSummaryInput, tier=RiskTier.L0, reads="telemetry",
            handler=lambda tenant, args: health_summary(snapshots, tenant, args),
        ),
    ]
