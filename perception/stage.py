"""Perception's stages as the loop runs them: pull, normalize, check, sense. Each appends to the ledger.

Every stage is idempotent: raw snapshots are immutable, normalized snapshots are rewritten whole,
signals are deduplicated on their dedupe key, and a cursor per tenant records what was sensed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Column, MetaData, String, Table, select, update
from sqlalchemy import insert as sql_insert

from connectors.cursors import CursorStore, commit_pull
from connectors.records import RawSnapshot
from ledger.sql import READ_ONLY, make_engine
from ledger.store import Ledger, NewEntry
from perception.condition_rules import ConditionHistory
from perception.contracts import CONDITION_KINDS, Signal
from perception.diff import diff_snapshots
from perception.increments import apply_increment
from perception.normalize import NormalizedSnapshot, normalize
from perception.signal_store import SignalStore
from perception.signals import detect_signals
from perception.snapshot_store import NormalizedSnapshotStore
from perception.thresholds import SignalThresholds

if TYPE_CHECKING:
    from connectors.object_store import LocalObjectStore
    from perception.quality_gate import QualityGate


class DayPullConnector(Protocol):
    """A connector that can pull each exported day (the demo connector; file drops)."""

    source: str

    def export_days(self, tenant: str) -> list[date]: ...

    def pull(self, tenant: str, day: date | None = None) -> RawSnapshot: ...


@dataclass(frozen=True)
class PullReport:
    tenant: str
    source: str
    pulled_at: datetime
    uris: list[str]
    row_counts: dict[str, int]


@dataclass(frozen=True)
class NormalizeReport:
    tenant: str
    pulled_at: datetime
    row_counts: dict[str, int]
    quarantine_reasons: dict[str, int]
    quarantine_preview: list[str] = field(default_factory=list)


def pull_new_snapshots(connector: DayPullConnector, raw_store: LocalObjectStore, ledger: Ledger,
                       tenant: str, day: date | None = None) -> list[PullReport]:
    """Pull every exported day not yet in the raw store (a missed run catches up, in order), or only
    ``day`` (one tenant-day partition). Raw snapshots are immutable: a day already stored is skipped."""
    stored = set(raw_store.list_snapshots(tenant, connector.source))
    reports = []
    for export_day in [d for d in connector.export_days(tenant) if day is None or d == day]:
        snapshot = connector.pull(tenant, export_day)
        if snapshot.pulled_at in stored:
            continue
        uris = raw_store.write_snapshot(snapshot)
        report = PullReport(tenant, snapshot.source, snapshot.pulled_at, uris, snapshot.row_counts())
        ledger.append(tenant, "snapshot.pulled", f"connector:{snapshot.source}", {
            "pulled_at": snapshot.pulled_at.isoformat(), "uris": uris, "row_counts": report.row_counts})
        reports.append(report)
    return reports


class LivePullConnector(Protocol):
    """A connector that pulls a CRM as it is now, incrementally from persisted cursors (HubSpot,
    Salesforce)."""

    source: str

    def pull(self, tenant: str, full: bool = False) -> RawSnapshot: ...


def pull_live_snapshot(connector: LivePullConnector, raw_store: LocalObjectStore, cursors: CursorStore,
                       ledger: Ledger, tenant: str, full: bool = False) -> PullReport:
    """Pull what changed since the tenant's cursors (everything on the first pull or with ``full``),
    write it as an immutable raw snapshot, and only then advance the cursors (a crash re-pulls,
    never skips)."""
    snapshot = connector.pull(tenant, full=full)
    uris = commit_pull(snapshot, raw_store, cursors)
    report = PullReport(tenant, snapshot.source, snapshot.pulled_at, uris, snapshot.row_counts())
    ledger.append(tenant, "snapshot.pulled", f"connector:{snapshot.source}", {
        "pulled_at": snapshot.pulled_at.isoformat(), "uris": uris, "row_counts": report.row_counts,
        "complete": snapshot.complete,
        "cursors": {name: at.isoformat() for name, at in sorted(snapshot.cursors.items())}})
    return report


def normalize_new_snapshots(raw_store: LocalObjectStore, normalized_store: NormalizedSnapshotStore,
                            ledger: Ledger, tenant: str, source: str,
                            day: date | None = None) -> list[NormalizeReport]:
    """Normalize each raw snapshot (of ``day`` only, when given) that has no normalized counterpart
    yet; quarantine bad rows."""
    done = set(normalized_store.list(tenant))
    reports = []
    for pulled_at in raw_store.list_snapshots(tenant, source):
        if pulled_at in done or (day is not None and pulled_at.date() != day):
            continue
        raw = raw_store.read_snapshot(tenant, source, pulled_at)
        ns = normalize(raw)
        if not raw.complete:  # an incremental pull: upsert it onto the state before it
            before = [at for at in normalized_store.list(tenant) if at < pulled_at]
            ns = apply_increment(normalized_store.read(tenant, before[-1]) if before else None, ns)
        normalized_store.write(ns)
        reasons = Counter(f"{row['object']}: {row['reason']}" for row in ns.quarantine.iter_rows(named=True))
        preview = [f"- `{tenant}` {row['object']} `{row['entity_id']}`: {row['reason']}"
                   for row in ns.quarantine.head(10).iter_rows(named=True)]
        ledger.append(tenant, "snapshot.normalized", "perception:normalize", {
            "pulled_at": pulled_at.isoformat(), "row_counts": ns.row_counts(),
            "quarantined": ns.quarantine.height, "quarantine_reasons": dict(reasons)})
        reports.append(NormalizeReport(tenant, pulled_at, ns.row_counts(), dict(reasons), preview))
    return reports


class TenantWatermark:
    """Per tenant, the newest snapshot a stage has dealt with, in one small table of the operational
    database (``table``, keyed by tenant, the time in ``column``)."""

    def __init__(self, url: str, table: str, column: str) -> None:
        self.engine = make_engine(url)
        metadata = MetaData()
        self._table = Table(table, metadata, Column("tenant", String(128), primary_key=True),
                            Column(column, String(40), nullable=False))
        self._at = self._table.c[column]
        metadata.create_all(self.engine)

    def get(self, tenant: str) -> datetime | None:
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            value = conn.execute(select(self._at).where(self._table.c.tenant == tenant)).scalar()
        return datetime.fromisoformat(value) if value else None

    def set(self, tenant: str, at: datetime) -> None:
        value = {self._at.name: at.isoformat()}
        with self.engine.begin() as conn:
            done = conn.execute(update(self._table).where(self._table.c.tenant == tenant).values(value))
            if done.rowcount == 0:
                conn.execute(sql_insert(self._table).values({"tenant": tenant, **value}))


class SenseCursor(TenantWatermark):
    """Per tenant, the newest normalized snapshot already diffed into signals."""

    def __init__(self, url: str) -> None:
        super().__init__(url, "perception_sense_cursor", "sensed_through")


def _ledger_signals(ledger: Ledger, signals: list[Signal], actor: str) -> None:
    ledger.append_many([NewEntry(s.tenant, "signal.raised", actor,
                                 {"signal_id": s.signal_id, **s.model_dump(mode="json")})
                        for s in signals])


def sense_snapshot_signals(normalized_store: NormalizedSnapshotStore, signal_store: SignalStore,
                           cursor: SenseCursor, ledger: Ledger, tenant: str,
                           gate: QualityGate | None = None,
                           thresholds: SignalThresholds | None = None) -> list[Signal]:
    """Diff each new snapshot against the last one before it that passed the quality gate, and store
    the signals not seen before. A snapshot the gate holds (or has not checked yet) is not diffed;
    a held one is recorded in the ledger and stepped over, an unchecked one stops sensing here."""
    sensed_through = cursor.get(tenant)
    new: list[Signal] = []
    history: ConditionHistory | None = None
    for pulled_at in normalized_store.list(tenant):
        if sensed_through is not None and pulled_at <= sensed_through:
            continue
        if gate is not None:
            verdict = gate.verdict(tenant, pulled_at)
            if verdict is None:
                break  # not checked yet: the next run picks it up once it has a verdict
            if not verdict.passed:
                ledger.append(tenant, "snapshot.held", "perception:quality_gate",
                              {"pulled_at": pulled_at.isoformat(), "failures": verdict.failures})
                cursor.set(tenant, pulled_at)
                continue
        current = normalized_store.read(tenant, pulled_at)
        if current is None:
            continue
        previous = _last_passing(normalized_store, gate, tenant, pulled_at)
        if previous is not None:
            if history is None:  # conditions raised before: a flapping one stays quiet in its cool-down
                history = ConditionHistory.from_signals(
                    signal_store.list(tenant, kinds=sorted(CONDITION_KINDS)))
            changes = diff_snapshots(previous, current)
            stored = signal_store.add_new(detect_signals(current, previous, changes, thresholds,
                                                                history=history))
            _ledger_signals(ledger, stored, "perception:diff")
            new.extend(stored)
        cursor.set(tenant, pulled_at)
    return new


def _last_passing(normalized_store: NormalizedSnapshotStore, gate: QualityGate | None, tenant: str,
                  before: datetime) -> NormalizedSnapshot | None:
    for pulled_at in reversed([at for at in normalized_store.list(tenant) if at < before]):
        if gate is None or gate.held(tenant, pulled_at) is None:
            return normalized_store.read(tenant, pulled_at)
    return None
