"""Perception's webhook stage as the loop runs it: one tenant's pending inbox events -> signals.

Each signal carries the trace id of the request that delivered its event, and so do the ledger entries
written here, so a trace can be followed from the HTTP request to the proposal it led to. An event that
cannot be understood is dead-lettered with its error (kept, listable, re-drivable), never dropped.
Re-running is safe: processed events are no longer pending, and signals dedupe on their key."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledger.store import Ledger, NewEntry
from perception.contracts import Signal
from perception.signal_store import SignalStore
from perception.signals import signals_from_changes
from perception.snapshot_store import NormalizedSnapshotStore
from perception.webhook_events import UnsupportedEvent, changes_from_webhook_event

if TYPE_CHECKING:
    from connectors.webhooks.inbox import InboxEvent, WebhookInbox

MAX_EVENTS_PER_RUN = 5000


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
                       through_id: int | None = None, limit: int = MAX_EVENTS_PER_RUN) -> InboxSenseReport:
    """Turn ``tenant``'s pending inbox events (up to ``through_id``, oldest first) into signals."""
    events = inbox.pending(limit=limit, tenant=tenant, through_id=through_id)
    if not events:
        return InboxSenseReport(tenant)
    context = normalized_store.latest(tenant)
    understood: list[tuple[InboxEvent, list[Signal]]] = []
    accounts: set[str] = set()
    dead = 0
    for event in events:
        try:
            changes = changes_from_webhook_event(tenant, json.loads(event.body), source=event.source,
                                                 context=context)
            raised = signals_from_changes(tenant, event.source, event.received_at, changes,
                                          context=context)
        except (UnsupportedEvent, ValueError, RecursionError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            inbox.mark_dead(event.id, error)
            ledger.append(tenant, "webhook.dead_lettered", f"webhook:{event.source}", {
                "delivery_id": event.delivery_id, "error": error[:500], "trace_id": event.trace_id})
            dead += 1
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
    inbox.mark_processed([event.id for event, _ in understood])
    return InboxSenseReport(tenant, stored, len(understood), dead, sorted(accounts),
                            sorted({e.trace_id for e in events if e.trace_id}))
