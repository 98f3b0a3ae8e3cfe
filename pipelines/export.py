"""Rows from the operational stores, exported incrementally to the Iceberg tables of ledger/tables.py.

Each table keeps a watermark per tenant in its snapshot summary (``IcebergWarehouse.watermarks``):
- ledger_entries: the last seq exported; only later entries are read.
- signals, decisions, actions, outcomes: the newest event time exported. Rows from
  ``LATE_ARRIVALS`` before it are offered again (a webhook may deliver an older event late); the
  key check in ``append_new`` drops those already there, looking only in their days' partitions.
- proposals: their status changes, so each tenant's rows are replaced, only when their digest differs
  from the one recorded at the last export.
``full=True`` offers every row again (still exactly-once by key): for rows older than the window."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actions.outcomes import OutcomeStore
    from actions.store import OperationalStore
    from ledger.iceberg import IcebergWarehouse
    from ledger.store import Ledger
    from perception.signal_store import SignalStore

LATE_ARRIVALS = timedelta(days=2)


def export_to_warehouse(warehouse: IcebergWarehouse, signals: SignalStore, store: OperationalStore,
                        ledger: Ledger, outcomes: OutcomeStore | None = None,
                        full: bool = False) -> dict[str, int]:
    """Append what is new since the last export to every table; returns rows written per table."""
    written: dict[str, int] = {}
    written["signals"] = export_by_time(warehouse, "signals", lambda: signal_rows(signals), full)
    written["proposals"] = export_proposals(warehouse, store.proposal_rows())
    written["decisions"] = export_by_time(warehouse, "decisions", lambda: decision_rows(store), full)
    written["actions"] = export_by_time(warehouse, "actions", store.action_rows, full)
    if outcomes is not None:
        written["outcomes"] = export_by_time(warehouse, "outcomes", outcomes.rows, full)
    written["ledger_entries"] = export_ledger(warehouse, ledger, full)
    return written


def export_by_time(warehouse: IcebergWarehouse, table: str,
                   read: Callable[[], Iterable[Mapping[str, Any]]], full: bool = False) -> int:
    from ledger.tables import table_def

    time_column = table_def(table).time_column
    marks = warehouse.watermarks(table)
    rows = list(read())
    if not full:
        rows = [r for r in rows if r["tenant"] not in marks
                or r[time_column] >= datetime.fromisoformat(marks[r["tenant"]]) - LATE_ARRIVALS]
    updated = dict(marks)
    for r in rows:
        at = r[time_column].isoformat()
        if r["tenant"] not in updated or datetime.fromisoformat(updated[r["tenant"]]) < r[time_column]:
            updated[r["tenant"]] = at
    return warehouse.append_new(table, rows, watermarks=updated)


def export_ledger(warehouse: IcebergWarehouse, ledger: Ledger, full: bool = False) -> int:
    recorded = warehouse.watermarks("ledger_entries")
    marks = {} if full else recorded
    rows: list[dict[str, Any]] = []
    updated = dict(recorded)
    for tenant in ledger.tenants():
        for r in ledger.rows(tenant, after_seq=int(marks.get(tenant, 0))):
            rows.append({"tenant": r.tenant, "seq": r.seq, "kind": r.kind, "actor": r.actor,
                         "recorded_at": r.recorded_at, "entry_hash": r.entry_hash})
            updated[tenant] = str(max(r.seq, int(updated.get(tenant, 0))))
    return warehouse.append_new("ledger_entries", rows, watermarks=updated)


def export_proposals(warehouse: IcebergWarehouse, rows: list[dict[str, Any]]) -> int:
    by_tenant: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_tenant.setdefault(r["tenant"], []).append(r)
    marks = warehouse.watermarks("proposals")
    written = 0
    for tenant, tenant_rows in sorted(by_tenant.items()):
        digest = _digest(tenant_rows)
        if marks.get(tenant) == digest:
            continue
        marks[tenant] = digest
        written += warehouse.replace("proposals", tenant_rows, tenant=tenant, watermarks=marks)
    return written


def signal_rows(signals: SignalStore) -> list[dict[str, Any]]:
    return [{"tenant": s.tenant, "signal_id": s.signal_id, "account_id": s.account_id,
             "entity_id": s.entity_id, "kind": str(s.kind), "severity": str(s.severity),
             "source": s.source, "observed_at": s.observed_at, "trace_id": s.trace_id}
            for s in signals.list()]


def decision_rows(store: OperationalStore) -> list[dict[str, Any]]:
    """The store's decision rows, policy decisions with their reasons: the determining policy ids, or
    ``evaluation_error`` when the engine failed and the proposal was denied closed."""
    reasons: dict[str, str] = {}
    for r in store.rows("policy_decisions"):
        body = json.loads(r["body"])
        reasons[f"policy:{r['proposal_id']}:v{r['proposal_version']}"] = (
            "evaluation_error" if body.get("errors") else ",".join(body.get("reasons") or []))
    return [{**row, "reasons": reasons.get(row["decision_id"]) if row["stage"] == "policy" else None}
            for row in store.decision_rows()]


def _digest(rows: list[dict[str, Any]]) -> str:
    ordered = sorted(rows, key=lambda r: (r["proposal_id"], r["version"]))
    return hashlib.sha256(json.dumps(ordered, sort_keys=True, default=str).encode()).hexdigest()[:32]
