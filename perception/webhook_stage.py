"""Perception's webhook stage as the loop runs it: inbox events -> signals. From the SQL inbox, one
tenant's pending events at a time; from a queue (SQS), whatever is received, grouped by tenant.

Each signal carries the trace id of the request that delivered its event, and so do the ledger entries
written here, so a trace can be followed from the HTTP request to the proposal it led to. An event that
cannot be understood is dead-lettered with its error (kept, listable, re-drivable), never dropped.
Re-running is safe: processed events are no longer pending, and signals dedupe on their key."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledger.store import Ledger, NewEntry
from perception.contracts import Signal
from perception.signal_store import SignalStore
from perception.signals import signals_from_changes
from perception.snapshot_store import NormalizedSnapshotStore
from perception.webhook_events import UnsupportedEvent, changes_from_webhook_event

if TYPE_CHECKING:
    from connectors.webhooks.inbox import WebhookInbox
    from connectors.webhooks.port import InboxEvent, WebhookInboxPort

MAX_EVENTS_PER_RUN = 5000
# A tenant's HubSpot deal stage ids -> labels, as its last pull saw the portal's pipelines.
StageLabels = Callable[[str], Mapping[str, str]]


@dataclass(frozen=True)
class InboxSenseReport:
    tenant: str
    signals: list[Signal] = field(default_factory=list)
    processed: int = 0
    dead_lettered: int = 0
    accounts: list[str] = field(default_factory=list)  # accounts the events touched
    trace_ids: list[str] = field(default_factory=list)


def sense_inbox_events(inbox: WebhookInbox, normalized_store: NormalizedSnapshotStore,
                       signal_store: SignalStore, ledger: Ledger, tenant: str,
                       through_id: int | None = None, limit: int = MAX_EVENTS_PER_RUN,
                       stage_labels: StageLabels | None = None) -> InboxSenseReport:
    """Turn ``tenant``'s pending events in the SQL inbox (up to ``through_id``, oldest first) into
    signals. An event that cannot be understood is dead-lettered at once: retrying cannot help."""
    events = inbox.pending(limit=limit, tenant=tenant, through_id=through_id)
    if not events:
        return InboxSenseReport(tenant)
    sensed = _sense(events, normalized_store, signal_store, ledger, tenant, stage_labels)
    for event, error in sensed.failed:
        inbox.mark_dead(event.id, error)
        _ledger_dead_letter(ledger, event, error)
    inbox.mark_processed([event.id for event in sensed.understood])
    return sensed.report(dead_lettered=len(sensed.failed))


def sense_received_events(inbox: WebhookInboxPort, normalized_store: NormalizedSnapshotStore,
                          signal_store: SignalStore, ledger: Ledger, limit: int = MAX_EVENTS_PER_RUN,
                          lease_seconds: float = 300.0,
                          stage_labels: StageLabels | None = None) -> list[InboxSenseReport]:
    """Turn events received from a queue-backed inbox (SQS) into signals, one report per tenant.

    A queue cannot be read by tenant, so this takes whatever it is given, every tenant's, until the
    queue is empty or ``limit`` events were received. Understood events are acknowledged (deleted).
    One that is not understood is failed: the queue offers it again, and at the inbox's max attempts
    it goes to the dead-letter queue with its error."""
    received: dict[str, list[InboxEvent]] = {}
    count = 0
    while count < limit:
        batch = inbox.receive(limit=min(10, limit - count), lease_seconds=lease_seconds)
        if not batch:
            break
        count += len(batch)
        for event in batch:
            received.setdefault(event.tenant, []).append(event)
    reports = []
    for tenant, events in sorted(received.items()):
        sensed = _sense(events, normalized_store, signal_store, ledger, tenant, stage_labels)
        dead = 0
        for event, error in sensed.failed:
            if inbox.fail(event, error) == "dead":
                _ledger_dead_letter(ledger, event, error)
                dead += 1
        inbox.ack(sensed.understood)
        reports.append(sensed.report(dead_lettered=dead))
    return reports


@dataclass(frozen=True)
class _Sensed:
    tenant: str
    signals: list[Signal]
    understood: list[InboxEvent]
    failed: list[tuple[InboxEvent, str]]
    accounts: set[str]

    def report(self, dead_lettered: int) -> InboxSenseReport:
        events = self.understood + [event for event, _ in self.failed]
        return InboxSenseReport(self.tenant, self.signals, len(self.understood), dead_lettered,
                                sorted(self.accounts), sorted({e.trace_id for e in events if e.trace_id}))


def _sense(events: list[InboxEvent], normalized_store: NormalizedSnapshotStore, signal_store: SignalStore,
           ledger: Ledger, tenant: str, stage_labels: StageLabels | None) -> _Sensed:
    """Signals from one tenant's events, stored and ledgered with each event's trace id; the events
    that could not be understood come back with their errors."""
    context = normalized_store.latest(tenant)
    labels = stage_labels(tenant) if stage_labels is not None else None
    understood: list[tuple[InboxEvent, list[Signal]]] = []
    failed: list[tuple[InboxEvent, str]] = []
    accounts: set[str] = set()
    for event in events:
        try:
            changes = changes_from_webhook_event(tenant, json.loads(event.body), source=event.source,
                                                 context=context, stage_labels=labels)
            raised = signals_from_changes(tenant, event.source, event.received_at, changes,
                                          context=context)
        except (UnsupportedEvent, ValueError, RecursionError) as exc:
            failed.append((event, f"{type(exc).__name__}: {exc}"))
            continue
        understood.append((event, [s.model_copy(update={"trace_id": event.trace_id}) for s in raised]))
        accounts.update(c.account_id for c in changes if c.account_id)
    stored = signal_store.add_new([s for _, raised in understood for s in raised])
    new_ids = {s.signal_id for s in stored}
    entries = [NewEntry(tenant, "webhook.processed", f"webhook:{event.source}", {
        "delivery_id": event.delivery_id, "inbox_id": event.id, "trace_id": event.trace_id,
        "signals": [s.signal_id for s in raised if s.signal_id in new_ids]}) for event, raised in understood]
    entries.extend(NewEntry(tenant, "signal.raised", f"webhook:{s.source}",
                            {"signal_id": s.signal_id, **s.model_dump(mode="json")}) for s in stored)
    ledger.append_many(entries)
    return _Sensed(tenant, stored, [event for event, _ in understood], failed, accounts)


def _ledger_dead_letter(ledger: Ledger, event: InboxEvent, error: str) -> None:
    ledger.append(event.tenant, "webhook.dead_lettered", f"webhook:{event.source}", {
        "delivery_id": event.delivery_id, "error": error[:500], "trace_id": event.trace_id})
