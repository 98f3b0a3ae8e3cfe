"""Signal detection: every kind of perception.contracts.SignalKind (taxonomy in perception/README.md).

    changes = diff_snapshots(previous, current)
    history = ConditionHistory.from_signals(store.list(tenant, kinds=CONDITION_KINDS))  # cool-down
    signals = detect_signals(current, previous, changes, history=history)   # scheduled pulls
    signals = signals_from_changes(tenant, source, at, changes_from_webhook_event(tenant, event))

The same condition always produces the same dedupe key, so SignalStore.add_new keeps it once."""

from __future__ import annotations

from datetime import datetime

from perception.condition_rules import ConditionHistory, condition_signals
from perception.contracts import FieldChange, Signal
from perception.crm_rules import RecordContext, crm_signals
from perception.normalize import NormalizedSnapshot
from perception.thresholds import SignalThresholds
from perception.usage_rules import usage_signals
from perception.webhook_events import UnsupportedEvent, changes_from_webhook_event

__all__ = ["ConditionHistory", "SignalThresholds", "UnsupportedEvent", "changes_from_webhook_event",
           "detect_signals", "signals_from_changes"]


def detect_signals(current: NormalizedSnapshot, previous: NormalizedSnapshot | None,
                   changes: list[FieldChange], thresholds: SignalThresholds | None = None,
                   history: ConditionHistory | None = None) -> list[Signal]:
    """CRM rules over the field changes, usage rules over the current snapshot's usage history, and
    condition rules over both snapshots (episodes that start now; ``history`` adds the cool-down and
    records what is raised)."""
    t = thresholds or SignalThresholds()
    ctx = RecordContext.from_snapshots(changes, current, previous)
    signals = crm_signals(current.tenant, current.source, current.pulled_at, changes, ctx, t)
    signals.extend(usage_signals(current, t))
    signals.extend(condition_signals(current, previous, t, history))
    return _unique(signals)


def signals_from_changes(tenant: str, source: str, observed_at: datetime, changes: list[FieldChange],
                         context: NormalizedSnapshot | None = None,
                         thresholds: SignalThresholds | None = None) -> list[Signal]:
    """The CRM rules alone, e.g. for webhook change events. `context` (the tenant's latest normalized
    snapshot) supplies facts the event lacks: a contact's role, a deal's amount, the account's name."""
    if context is not None and context.tenant != tenant:
        raise ValueError(f"context snapshot is tenant {context.tenant!r}, not {tenant!r}")
    ctx = RecordContext.from_snapshots(changes, context)
    return _unique(crm_signals(tenant, source, observed_at, changes, ctx, thresholds or SignalThresholds()))


def _unique(signals: list[Signal]) -> list[Signal]:
    seen: dict[str, Signal] = {}
    for signal in signals:
        seen.setdefault(signal.dedupe_key, signal)
    return list(seen.values())
