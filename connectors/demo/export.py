"""Daily exports of the demo world as a CRM API and a telemetry feed would deliver them.

`exports/<tenant>/<YYYY-MM-DD>/{accounts,contacts,opportunities,tasks,activities}.jsonl` use the demo
CRM's own field names and labels; `usage.parquet` carries the trailing USAGE_WINDOW_DAYS of telemetry. With a
corruption rate, some records come out malformed (what real feeds do); that is not ground truth."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from connectors.demo.catalog import (
    ACTIVITY_TYPE_LABELS,
    DIRECTION_LABELS,
    ROLE_LABELS,
    STAGE_LABELS,
    STATUS_LABELS,
)
from connectors.demo.state import Record

CRM_EXPORTS: tuple[str, ...] = ("accounts", "contacts", "opportunities", "tasks", "activities")
CORRUPTIONS: tuple[str, ...] = ("missing_id", "wrong_type", "duplicate_key", "absurd_value")


def export_dir(root: Path, tenant: str, day: date) -> Path:
    return root / "exports" / tenant / day.isoformat()


def _account(r: Record) -> dict[str, Any]:
    d = r.data
    return {"Id": r.record_id, "Name": d["name"], "Website": f"https://www.{d['domain']}",
            "Industry": d["industry"].replace("_", " ").title(), "OwnerEmail": d["owner_email"],
            "AnnualRecurringRevenue": d["arr"], "SeatsLicensed__c": d["seats_licensed"],
            "RenewalDate__c": d["renewal_date"]}


def _contact(r: Record) -> dict[str, Any]:
    d = r.data
    return {"Id": r.record_id, "AccountId": d["account_id"], "FirstName": d["first_name"],
            "LastName": d["last_name"], "Email": d["email"], "Title": d["title"],
            "Role__c": ROLE_LABELS.get(d["role"], d["role"]),
            "Status__c": STATUS_LABELS.get(d["status"], d["status"])}


def _opportunity(r: Record) -> dict[str, Any]:
    d = r.data
    return {"Id": r.record_id, "AccountId": d["account_id"], "Name": d["name"],
            "StageName": STAGE_LABELS.get(d["stage"], d["stage"]), "Amount": d["amount"],
            "CloseDate": d["close_date"], "OwnerEmail": d["owner_email"],
            "LastStageChangeDate": d.get("stage_changed_on")}


def _task(r: Record) -> dict[str, Any]:
    d = r.data
    return {"Id": r.record_id, "WhatId": d["account_id"], "Subject": d["subject"],
            "Description": d["body"], "ActivityDate": d["due_date"], "OwnerEmail": d["owner_email"],
            "Status": d["status"], "IdempotencyKey": d.get("idempotency_key")}


def _activity(r: Record) -> dict[str, Any]:
    d = r.data
    return {"Id": r.record_id, "AccountId": d["account_id"], "OpportunityId": d["opportunity_id"],
            "WhoId": d["contact_id"], "Type": ACTIVITY_TYPE_LABELS[d["type"]],
            "Direction__c": DIRECTION_LABELS[d["direction"]], "Subject": d["subject"],
            "ActivityDate": d["occurred_on"]}


_FLAVOUR = {"accounts": _account, "contacts": _contact, "opportunities": _opportunity, "tasks": _task,
            "activities": _activity}

# Which field each corruption damages, per object, and how.
_WRONG_TYPE = {"accounts": ("SeatsLicensed__c", "a few hundred"), "contacts": ("Status__c", 1),
               "opportunities": ("CloseDate", "next quarter")}
_ABSURD = {"accounts": ("AnnualRecurringRevenue", -250000.0), "contacts": ("AccountId", None),
           "opportunities": ("Amount", -1e13)}


def _corrupt(object_: str, rows: list[dict[str, Any]], rate: float, rng: np.random.Generator
             ) -> list[dict[str, Any]]:
    if rate <= 0 or object_ not in _WRONG_TYPE or not rows:
        return rows
    picks = set(np.flatnonzero(rng.random(len(rows)) < rate).tolist())
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        if i not in picks:
            out.append(row)
            continue
        how = CORRUPTIONS[int(rng.integers(len(CORRUPTIONS)))]
        bad = dict(row)
        if how == "missing_id":
            bad.pop("Id")
        elif how == "wrong_type":
            field, value = _WRONG_TYPE[object_]
            bad[field] = value
        elif how == "absurd_value":
            field, value = _ABSURD[object_]
            bad[field] = value
        else:
            out.append(row)
            bad["Name" if "Name" in bad else "Title"] = "duplicate of " + str(row["Id"])
        out.append(bad)
    return out


def _corrupt_usage(frame: pl.DataFrame, today: str, rate: float, rng: np.random.Generator) -> pl.DataFrame:
    if rate <= 0:
        return frame
    rows = frame.to_dicts()
    out: list[dict[str, Any]] = []
    for row in rows:
        if row["usage_date"] != today or rng.random() >= rate:
            out.append(row)
            continue
        how = CORRUPTIONS[int(rng.integers(len(CORRUPTIONS)))]
        bad = dict(row)
        if how == "missing_id":
            bad["account_ref"] = None
        elif how == "wrong_type":
            bad["usage_date"] = "yesterday-ish"
        elif how == "absurd_value":
            bad["seats_used"] = 10**12
        else:
            out.append(row)
            bad["active_users"] = row["active_users"] + 7
        out.append(bad)
    return pl.DataFrame(out, schema=frame.schema)


def usage_frame(rows: list[tuple[int, str, str, int, int]], epoch: date) -> pl.DataFrame:
    """(day index, account, product, active users, seats used) rows -> the telemetry export's frame."""
    frame = pl.DataFrame(rows, schema={"day": pl.Int64, "account_ref": pl.String, "product_sku": pl.String,
                                       "active_users": pl.Int64, "seats_used": pl.Int64}, orient="row")
    usage_date = (pl.lit(epoch) + pl.duration(days=pl.col("day"))).dt.to_string("%Y-%m-%d")
    return frame.select("account_ref", "product_sku", usage_date.alias("usage_date"), "active_users",
                        "seats_used")


def write_exports(root: Path, tenant: str, day: date, records: dict[str, dict[str, Record]],
                  usage: pl.DataFrame, corruption_rate: float, rng: np.random.Generator) -> Path:
    """Write one tenant-day export atomically; an existing export of that day is left as it is."""
    target = export_dir(root, tenant, day)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{day.isoformat()}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for object_ in CRM_EXPORTS:
        rows = [_FLAVOUR[object_](r) for r in records.get(object_, {}).values()]
        rows = _corrupt(object_, rows, corruption_rate, rng)
        with open(tmp / f"{object_}.jsonl", "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, separators=(",", ":")) + "\n")
    _corrupt_usage(usage, day.isoformat(), corruption_rate, rng).write_parquet(tmp / "usage.parquet")
    try:
        tmp.rename(target)
    except OSError:  # another process exported the same day first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return target

