"""Condition signals: a risky state raises ONE signal per episode, when it starts holding.

An episode starts when a condition holds in the current snapshot but did not in the previous one; its
start day (from the data where it tells: last activity + N days, stage entry + stall limit, renewal
date - window; else the snapshot's day) is in the dedupe key, so re-detection yields the same key.
A ConditionHistory adds the cool-down: a condition of the same entity raised fewer than
``condition_cool_down_days`` ago (a flapping state) is not raised again. Without a previous snapshot
(the first sensing), every holding condition is raised."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import polars as pl

from perception.conditions import CONDITION_CHECKS, SnapshotFacts
from perception.contracts import Evidence, Severity, Signal, SignalKind
from perception.heat import heat_score
from perception.normalize import NormalizedSnapshot
from perception.thresholds import SignalThresholds


class ConditionHistory:
    """The last condition signal raised per (tenant, kind, entity), for the cool-down.

    Rebuild it from what was stored: ``ConditionHistory.from_signals(store.list(tenant,
    kinds=CONDITION_KINDS))``; detect_signals records what it raises."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str, str], tuple[str, date]] = {}

    @classmethod
    def from_signals(cls, signals: Iterable[Signal]) -> ConditionHistory:
        history = cls()
        history.record(signals)
        return history

    def record(self, signals: Iterable[Signal]) -> None:
        for s in signals:
            key, seen = (s.tenant, s.kind.value, s.entity_id), s.observed_at.date()
            if key not in self._last or self._last[key][1] <= seen:
                self._last[key] = (s.dedupe_key, seen)

    def cooling(self, signal: Signal, cool_down_days: int) -> bool:
        """True when another episode of this condition was raised within the cool-down."""
        last = self._last.get((signal.tenant, signal.kind.value, signal.entity_id))
        if last is None or last[0] == signal.dedupe_key:
            return False
        return (signal.observed_at.date() - last[1]).days < cool_down_days


def _deal(row: dict[str, Any]) -> tuple[str, str]:
    return row.get("name") or row["entity_id"], row.get("account_name") or row["account_id"]


def _deal_severity(row: dict[str, Any], t: SignalThresholds, late_is_high: bool = True) -> Severity:
    if (row.get("amount") or 0.0) >= t.high_value_amount:
        return Severity.high
    late = row["stage"] in t.economic_buyer_stages
    if late_is_high:
        return Severity.high if late else Severity.medium
    return Severity.medium if late else Severity.low


def _describe(kind: SignalKind, row: dict[str, Any], t: SignalThresholds, today: date
              ) -> tuple[Severity, Evidence, str, float | None]:
    """Severity, evidence, narrative and stake of one holding condition."""
    opp = row["entity_id"]
    if kind is SignalKind.renewal_approaching:
        arr = row.get("arr") or 0.0
        severity = Severity.high if arr >= t.high_value_arr else \
            Severity.low if arr < t.low_value_arr else Severity.medium
        renewal = row["renewal_date"].isoformat()
        return severity, Evidence(object="accounts", entity_id=opp, field="renewal_date", after=renewal,
                                  note=f"{row['days_left']} days left"), \
            f"{row.get('account_name') or opp} renews on {renewal}, {row['days_left']} days from now " \
            f"(ARR {arr:,.0f}).", arr
    name, account = _deal(row)
    amount = row.get("amount")
    if kind is SignalKind.no_activity:
        days = (today - row["reference"]).days
        return _deal_severity(row, t), Evidence(
            object="activities", entity_id=opp, field="occurred_on", before=row["reference"].isoformat(),
            note=f"no inbound or outbound activity for {days} days"), \
            f"Deal {name} at {account} has had no customer activity for {days} days " \
            f"(last: {row['reference'].isoformat()}).", amount
    if kind is SignalKind.ghosted:
        last = row["last_inbound"].isoformat()
        return _deal_severity(row, t), Evidence(
            object="activities", entity_id=opp, field="direction", before=last,
            after=row["outbound_since"], note="outbound touches since the last inbound reply"), \
            f"Deal {name} at {account} looks ghosted: {row['outbound_since']} outbound touches and no " \
            f"reply since {last}.", amount
    if kind is SignalKind.too_few_contacts:
        n = row["active_contacts"]
        severity = Severity.high if n == 0 else _deal_severity(row, t)
        return severity, Evidence(object="contacts", entity_id=row["account_id"], field="status", after=n,
                                  note=f"active contacts at the account (minimum {t.min_active_contacts})"), \
            f"Deal {name} at {account} is single-threaded: {n} active contact(s) at the account.", amount
    if kind is SignalKind.no_economic_buyer:
        severity = Severity.high if row["stage"] == t.economic_buyer_stages[-1] else Severity.medium
        if (amount or 0.0) >= t.high_value_amount:
            severity = Severity.high
        return severity, Evidence(object="contacts", entity_id=row["account_id"], field="role",
                                  note=f"no active economic_buyer; deal in {row['stage']}"), \
            f"Deal {name} at {account} is in {row['stage']} with no active economic buyer at the " \
            "account.", amount
    since = row["stage_changed_on"].isoformat()
    return _deal_severity(row, t, late_is_high=False), Evidence(
        object="opportunities", entity_id=opp, field="stage_changed_on", before=since, after=row["stage"],
        note=f"{row['days_in_stage']} days in stage; limit {row['stall_limit']}"), \
        f"Deal {name} at {account} has been in {row['stage']} for {row['days_in_stage']} days " \
        f"(since {since}; the limit is {row['stall_limit']}).", amount


def condition_signals(current: NormalizedSnapshot, previous: NormalizedSnapshot | None,
                      t: SignalThresholds, history: ConditionHistory | None = None) -> list[Signal]:
    if previous is not None and previous.tenant != current.tenant:
        raise ValueError(f"cannot compare tenant {current.tenant!r} with tenant {previous.tenant!r}")
    today = current.pulled_at.date()
    now_facts = SnapshotFacts.of(current, t)
    before_facts = SnapshotFacts.of(previous, t) if previous is not None else None
    signals: list[Signal] = []
    for kind, check in CONDITION_CHECKS.items():
        holding = check(now_facts, t)
        if before_facts is not None:
            holding = holding.join(check(before_facts, t).select("entity_id"), on="entity_id", how="anti")
        for row in holding.sort("entity_id").iter_rows(named=True):
            severity, evidence, narrative, stake = _describe(kind, row, t, today)
            began: date = row["began_on"]
            entity_type = "account" if kind is SignalKind.renewal_approaching else "opportunity"
            signal = Signal(
                tenant=current.tenant, account_id=row["account_id"], entity_type=entity_type,
                entity_id=row["entity_id"], kind=kind, severity=severity, evidence=[evidence],
                observed_at=current.pulled_at, source=current.source, narrative=narrative,
                dedupe_key=f"{current.tenant}|{kind.value}|{row['entity_id']}|{began.isoformat()}",
                heat=heat_score(severity, stake, t, began, today))
            if history is not None and history.cooling(signal, t.condition_cool_down_days):
                continue
            signals.append(signal)
    if history is not None:
        history.record(signals)
    return signals


def holding_kinds(snapshot: NormalizedSnapshot, t: SignalThresholds) -> pl.DataFrame:
    """(kind, entity_id) of every condition holding in a snapshot, for inspection and tests."""
    facts = SnapshotFacts.of(snapshot, t)
    frames = [check(facts, t).select(pl.lit(kind.value).alias("kind"), "entity_id")
              for kind, check in CONDITION_CHECKS.items()]
    return pl.concat(frames).sort("kind", "entity_id")
