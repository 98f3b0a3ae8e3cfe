"""The quality gate: every normalized snapshot is checked by the expectation suites before signals are
raised from it, and a snapshot that fails is *held* — only that tenant's snapshot, not the others'.

    gate = QualityGate(url)
    verdicts = check_new_snapshots(normalized_store, gate, tenants)   # after normalization
    gate.held(tenant, pulled_at)                                       # -> Hold | None, before sensing

A held snapshot is never diffed: the next snapshot that passes is diffed against the last one that
passed, so bad data neither raises signals nor hides a change. Every verdict is kept (table
`perception_quality_gate`) with the expectations that failed, so the UI can say why."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
from sqlalchemy import Boolean, Column, MetaData, String, Table, Text, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ledger.sql import READ_ONLY, make_engine
from perception.expectations import QualityReport, validate_table
from perception.schemas import SCHEMAS
from perception.snapshot_store import NormalizedSnapshotStore

_metadata = MetaData()
_verdicts = Table(
    "perception_quality_gate", _metadata,
    Column("tenant", String(128), primary_key=True),
    Column("pulled_at", String(40), primary_key=True),
    Column("passed", Boolean, nullable=False),
    Column("failures", Text, nullable=False),  # JSON: {table: [expectation, ...]}
    Column("checked_at", String(40), nullable=False),
)


@dataclass(frozen=True)
class Verdict:
    tenant: str
    pulled_at: datetime
    passed: bool
    failures: dict[str, list[str]]  # canonical table -> expectations that failed for this snapshot

    def reason(self) -> str:
        return "; ".join(f"{table}: {', '.join(names)}" for table, names in sorted(self.failures.items()))


class QualityGate:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        _metadata.create_all(self.engine)

    def record(self, verdicts: list[Verdict]) -> None:
        if not verdicts:
            return
        now = datetime.now(UTC).isoformat()
        rows = [{"tenant": v.tenant, "pulled_at": v.pulled_at.isoformat(), "passed": v.passed,
                 "failures": json.dumps(v.failures, sort_keys=True), "checked_at": now} for v in verdicts]
        stmt = sqlite_insert(_verdicts).values(rows)
        with self.engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["tenant", "pulled_at"],
                set_={"passed": stmt.excluded.passed, "failures": stmt.excluded.failures,
                      "checked_at": stmt.excluded.checked_at}))

    def verdict(self, tenant: str, pulled_at: datetime) -> Verdict | None:
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            row = conn.execute(select(_verdicts).where(
                (_verdicts.c.tenant == tenant) & (_verdicts.c.pulled_at == pulled_at.isoformat()))).first()
        return _verdict(row) if row else None

    def held(self, tenant: str, pulled_at: datetime) -> Verdict | None:
        """The failing verdict holding this snapshot back, or None when it passed."""
        found = self.verdict(tenant, pulled_at)
        return found if found is not None and not found.passed else None

    def latest(self, tenants: list[str]) -> list[Verdict]:
        """Each tenant's most recent verdict (what the UI shows as the gate's state)."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            rows = conn.execute(select(_verdicts).where(_verdicts.c.tenant.in_(tenants))
                                .order_by(_verdicts.c.tenant, _verdicts.c.pulled_at)).all()
        last: dict[str, Verdict] = {}
        for row in rows:
            last[row.tenant] = _verdict(row)
        return [last[t] for t in sorted(last)]


def _verdict(row: object) -> Verdict:
    return Verdict(row.tenant, datetime.fromisoformat(row.pulled_at), bool(row.passed),  # type: ignore[attr-defined]
                   json.loads(row.failures))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class GateRun:
    verdicts: list[Verdict]
    reports: list[QualityReport]  # one per canonical table, over every snapshot checked in this run

    @property
    def held(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.passed]


def check_new_snapshots(normalized_store: NormalizedSnapshotStore, gate: QualityGate,
                        tenants: list[str]) -> GateRun:
    """Validate every snapshot without a verdict yet; one suite run per table covers all of them.

    Rows are labelled with their snapshot before validation, so a failing expectation names exactly
    the snapshots (tenant, pulled_at) whose rows broke it."""
    pending = [(t, at) for t in tenants for at in normalized_store.list(t) if gate.verdict(t, at) is None]
    if not pending:
        return GateRun([], [])
    labels = {f"{t}@{at.isoformat()}": (t, at) for t, at in pending}
    snapshots = {label: normalized_store.read(t, at) for label, (t, at) in labels.items()}
    reports, failures = [], defaultdict(lambda: defaultdict(list))
    for table in SCHEMAS:
        frames = [ns.table(table).with_columns(pl.lit(label).alias("tenant"))
                  for label, ns in snapshots.items() if ns is not None]
        combined = pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()
        report = validate_table(table, combined)
        reports.append(report)
        for outcome in report.results:
            if outcome.success:
                continue
            blamed = [label for label in outcome.failing_tenants if label in labels] or list(labels)
            for label in blamed:
                failures[label][table].append(outcome.name)
    verdicts = [Verdict(t, at, label not in failures, {k: sorted(v) for k, v in failures[label].items()})
                for label, (t, at) in labels.items()]
    gate.record(verdicts)
    return GateRun(verdicts, reports)
