"""Outcomes: what happened on an account after the loop acted (or did not), so lift can be measured.

Outcomes are read from CRM changes between two snapshots (a deal won or lost, a close date held or
slipped, a renewal, a churn) and from the demo world's ground truth. Each is linked to the proposals
and executed actions on its account *before* it was observed, stored once (its id is derived from
tenant, kind, entity and day, so re-reading the same snapshots records nothing new) and appended to
the ledger as ``outcome.observed``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, select, update

from connectors.demo.events import GroundTruthEvent
from ledger.sql import make_engine
from ledger.store import Ledger, NewEntry
from perception.contracts import ChangeType, FieldChange
from perception.diff import diff_snapshots
from perception.normalize import NormalizedSnapshot
from perception.schemas import KEYS
from perception.snapshot_store import NormalizedSnapshotStore

OUTCOME_ACTOR = "outcomes"


class OutcomeKind(StrEnum):
    deal_won = "deal_won"
    deal_lost = "deal_lost"
    close_date_held = "close_date_held"  # won on or before the close date it carried
    close_date_slipped = "close_date_slipped"  # value: days moved later
    renewed = "renewed"  # value: ARR after renewal
    churned = "churned"  # ARR went to zero or the account left the CRM


class Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant: str
    outcome_id: str
    account_id: str
    entity_id: str
    kind: OutcomeKind
    source: str  # crm | demo_truth
    observed_at: datetime
    value: float | None = None
    prior_proposals: int = 0  # proposals on the account created before the outcome
    prior_actions_executed: int = 0  # of those, actions that succeeded before the outcome
    last_proposal_id: str | None = None
    last_action_key: str | None = None

    def row(self) -> dict[str, Any]:
        return {**self.model_dump(), "kind": self.kind.value}


def outcome_id(tenant: str, kind: OutcomeKind, entity_id: str, day: date) -> str:
    return hashlib.sha256(f"{tenant}|{kind.value}|{entity_id}|{day.isoformat()}".encode()).hexdigest()[:32]


def _outcome(tenant: str, kind: OutcomeKind, account_id: str | None, entity_id: str, at: datetime,
             source: str, value: float | None = None) -> Outcome:
    return Outcome(tenant=tenant, outcome_id=outcome_id(tenant, kind, entity_id, at.date()),
                   account_id=account_id or entity_id, entity_id=entity_id, kind=kind, source=source,
                   observed_at=at, value=value)


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        return date.fromisoformat(value[:10])
    return None


Records = Mapping[str, Mapping[str, Mapping[str, Any]]]  # object -> entity id -> record


def outcomes_from_changes(changes: Iterable[FieldChange], observed_at: datetime,
                          current: Records | None = None) -> list[Outcome]:
    """Outcomes in the field changes between two CRM snapshots taken up to ``observed_at``.

    ``current`` maps object -> entity id -> the record as it is now (for the close date a deal was
    won against and the ARR a renewal carried); without it those values are left out."""
    now = current or {}
    out: list[Outcome] = []
    for c in changes:
        record = now.get(c.object, {}).get(c.entity_id, {})
        if c.object == "opportunities" and c.change is ChangeType.changed and c.field == "stage":
            if c.after in ("closed_won", "closed_lost"):
                won = c.after == "closed_won"
                out.append(_outcome(c.tenant, OutcomeKind.deal_won if won else OutcomeKind.deal_lost,
                                    c.account_id, c.entity_id, observed_at, "crm", record.get("amount")))
                close = _day(record.get("close_date"))
                if won and close is not None and observed_at.date() <= close:
                    out.append(_outcome(c.tenant, OutcomeKind.close_date_held, c.account_id, c.entity_id,
                                        observed_at, "crm"))
        elif c.object == "opportunities" and c.change is ChangeType.changed and c.field == "close_date":
            before, after = _day(c.before), _day(c.after)
            if before is not None and after is not None and after > before:
                out.append(_outcome(c.tenant, OutcomeKind.close_date_slipped, c.account_id, c.entity_id,
                                    observed_at, "crm", float((after - before).days)))
        elif c.object == "accounts" and c.change is ChangeType.changed and c.field == "renewal_date":
            before, after = _day(c.before), _day(c.after)
            if before is not None and after is not None and after > before:
                out.append(_outcome(c.tenant, OutcomeKind.renewed, c.account_id, c.entity_id, observed_at,
                                    "crm", record.get("arr")))
        elif c.object == "accounts" and (
                c.change is ChangeType.deleted
                or (c.change is ChangeType.changed and c.field == "arr" and not c.after and c.before)):
            out.append(_outcome(c.tenant, OutcomeKind.churned, c.account_id, c.entity_id, observed_at, "crm"))
    return out


def outcomes_between(previous: NormalizedSnapshot | None, current: NormalizedSnapshot) -> list[Outcome]:
    """Outcomes in what changed from one CRM snapshot of a tenant to the next."""
    records = {name: {row[KEYS[name]]: row for row in current.table(name).iter_rows(named=True)}
               for name in ("accounts", "opportunities")}
    return outcomes_from_changes(diff_snapshots(previous, current), current.pulled_at, records)


# Ground-truth kinds of the demo world that are outcomes (the rest are risks the loop should notice).
_TRUTH_OUTCOMES = {"deal_slipped": OutcomeKind.close_date_slipped}


def outcomes_from_ground_truth(events: Iterable[GroundTruthEvent]) -> list[Outcome]:
    """Outcomes the demo world injected, dated at the start of their simulated day (UTC)."""
    out = []
    for event in events:
        kind = _TRUTH_OUTCOMES.get(event.kind)
        if kind is not None:
            days = event.details.get("days")
            out.append(_outcome(event.tenant, kind, event.account_id, event.entity_id,
                                datetime.combine(event.day, time(), UTC), "demo_truth",
                                float(days) if isinstance(days, int | float) else None))
    return out


def link_to_prior_work(outcomes: Sequence[Outcome], proposals: Sequence[Mapping[str, Any]],
                       actions: Sequence[Mapping[str, Any]]) -> list[Outcome]:
    """Attach to each outcome the proposals on its account created before it, and the actions of
    those proposals that succeeded before it (rows as ``OperationalStore.proposal_rows`` and
    ``action_rows`` give them)."""
    by_account: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    first_version: dict[tuple[str, str], Mapping[str, Any]] = {}
    for p in sorted(proposals, key=lambda r: r["version"]):
        first_version.setdefault((p["tenant"], p["proposal_id"]), p)
    for (tenant, _), p in first_version.items():
        by_account.setdefault((tenant, p["account_id"]), []).append(p)
    succeeded: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for a in actions:
        if a["status"] == "succeeded":
            succeeded.setdefault((a["tenant"], a["proposal_id"]), []).append(a)
    linked = []
    for o in outcomes:
        before = sorted((p for p in by_account.get((o.tenant, o.account_id), [])
                         if p["created_at"] < o.observed_at), key=lambda p: p["created_at"])
        done = sorted((a for p in before for a in succeeded.get((o.tenant, p["proposal_id"]), [])
                       if a["executed_at"] < o.observed_at), key=lambda a: a["executed_at"])
        linked.append(o.model_copy(update={
            "prior_proposals": len(before), "prior_actions_executed": len(done),
            "last_proposal_id": before[-1]["proposal_id"] if before else None,
            "last_action_key": done[-1]["idempotency_key"] if done else None}))
    return linked


_metadata = MetaData()
outcomes_table = Table(
    "outcomes", _metadata,
    Column("outcome_id", String(64), primary_key=True),
    Column("tenant", String(128), nullable=False, index=True),
    Column("account_id", String(128), nullable=False),
    Column("entity_id", String(128), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("source", String(32), nullable=False),
    Column("observed_at", String(40), nullable=False),  # ISO-8601 UTC
    Column("value", Float, nullable=True),
    Column("prior_proposals", Integer, nullable=False),
    Column("prior_actions_executed", Integer, nullable=False),
    Column("last_proposal_id", String(128), nullable=True),
    Column("last_action_key", String(256), nullable=True),
    Column("ledger_seq", Integer, nullable=True),  # set once its ledger entry is appended
)


outcome_cursors = Table(
    "outcome_cursors", _metadata,
    Column("tenant", String(128), primary_key=True),
    Column("pulled_at", String(40), nullable=False),  # the newest snapshot read for outcomes
)


class OutcomeStore:
    """Recorded outcomes in the operational database; each outcome id once."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        _metadata.create_all(self.engine)

    def record(self, outcomes: Sequence[Outcome], ledger: Ledger) -> list[Outcome]:
        """Store the outcomes not stored before and append each to the ledger; returns those.

        The ledger entry follows the commit and is marked on the row; a crash in between leaves the
        row unmarked, and the next call appends its entry then."""
        unique = list({o.outcome_id: o for o in outcomes}.values())
        with self.engine.begin() as conn:
            known = set(conn.execute(select(outcomes_table.c.outcome_id).where(
                outcomes_table.c.outcome_id.in_([o.outcome_id for o in unique]))).scalars())
            new = [o for o in unique if o.outcome_id not in known]
            if new:
                conn.execute(outcomes_table.insert(), [
                    {**o.row(), "observed_at": o.observed_at.astimezone(UTC).isoformat()} for o in new])
            pending = [_from_row(r) for r in conn.execute(
                select(outcomes_table).where(outcomes_table.c.ledger_seq.is_(None))
                .order_by(outcomes_table.c.observed_at, outcomes_table.c.outcome_id))]
        entries = ledger.append_many([NewEntry(o.tenant, "outcome.observed", OUTCOME_ACTOR,
                                               o.model_dump(mode="json")) for o in pending])
        with self.engine.begin() as conn:
            for o, entry in zip(pending, entries, strict=True):
                conn.execute(update(outcomes_table).where(outcomes_table.c.outcome_id == o.outcome_id)
                             .values(ledger_seq=entry.seq))
        return new

    def cursor(self, tenant: str) -> datetime | None:
        with self.engine.connect() as conn:
            at = conn.execute(select(outcome_cursors.c.pulled_at).where(
                outcome_cursors.c.tenant == tenant)).scalar_one_or_none()
        return datetime.fromisoformat(at) if at else None

    def advance(self, tenant: str, pulled_at: datetime) -> None:
        at = pulled_at.astimezone(UTC).isoformat()
        with self.engine.begin() as conn:
            if conn.execute(update(outcome_cursors).where(outcome_cursors.c.tenant == tenant)
                            .values(pulled_at=at)).rowcount == 0:
                conn.execute(outcome_cursors.insert().values(tenant=tenant, pulled_at=at))

    def rows(self, tenant: str | None = None) -> list[dict[str, Any]]:
        """Every stored outcome, shaped for the Iceberg ``outcomes`` table."""
        query = select(outcomes_table).order_by(outcomes_table.c.observed_at, outcomes_table.c.outcome_id)
        if tenant is not None:
            query = query.where(outcomes_table.c.tenant == tenant)
        with self.engine.connect() as conn:
            return [_from_row(row).row() for row in conn.execute(query)]


def _from_row(row: Any) -> Outcome:
    values = {k: v for k, v in row._mapping.items() if k != "ledger_seq"}
    return Outcome(**{**values, "observed_at": datetime.fromisoformat(row.observed_at)})


def observe_outcomes(snapshots: NormalizedSnapshotStore, tenant: str, store: OutcomeStore, ledger: Ledger,
                     proposals: Sequence[Mapping[str, Any]], actions: Sequence[Mapping[str, Any]],
                     truth: Iterable[GroundTruthEvent] = ()) -> list[Outcome]:
    """Read outcomes from every snapshot of ``tenant`` newer than the store's cursor (each against the
    one before it) and from ``truth``, link them to the work before them, record the new ones."""
    since = store.cursor(tenant)
    found = outcomes_from_ground_truth(e for e in truth if e.tenant == tenant)
    newest = since
    for at in snapshots.list(tenant):
        if since is not None and at <= since:
            continue
        current = snapshots.read(tenant, at)
        if current is None:
            continue
        previous = snapshots.previous(tenant, at)
        if previous is not None:  # the first snapshot is where the world starts, not a change
            found.extend(outcomes_between(previous, current))
        newest = at
    recorded = store.record(link_to_prior_work(found, proposals, actions), ledger)
    if newest is not None and newest != since:
        store.advance(tenant, newest)
    return recorded
