"""The webhook inbox port: what the receiver and the consumers need from any durable inbox.

Two adapters implement it: :class:`connectors.webhooks.inbox.WebhookInbox` (SQLite WAL / PostgreSQL)
and :class:`connectors.webhooks.sqs_inbox.SqsWebhookInbox` (SQS queue + dead-letter queue). One
contract suite (tests/integration/test_webhooks_inbox_contract.py) runs against both."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

InboxStatus = Literal["pending", "processed", "dead"]
STATUSES: tuple[InboxStatus, ...] = ("pending", "processed", "dead")
MAX_ERROR_CHARS = 4000


class InboxStorageError(RuntimeError):
    """The inbox could not take the write; the sender should retry later."""


class InboxOverloadedError(RuntimeError):
    """The receiver's write queue is full; answer 503 with Retry-After and let the sender retry."""


@dataclass(frozen=True)
class NewDelivery:
    """A verified delivery about to be stored; validated here so a batch never fails on one bad row."""

    tenant: str
    source: str
    delivery_id: str
    received_at: datetime
    body: bytes
    trace_id: str | None = None

    def __post_init__(self) -> None:
        if self.received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware; pass datetime.now(UTC)")
        try:
            self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"webhook body is not UTF-8 (byte {exc.start}); senders must send "
                             "UTF-8 JSON") from None
        if not self.tenant or not self.source or not self.delivery_id:
            raise ValueError("tenant, source and delivery_id must be non-empty")


@dataclass(frozen=True)
class InboxEvent:
    id: int
    tenant: str
    source: str
    delivery_id: str
    received_at: datetime
    body: bytes
    status: InboxStatus
    error: str | None
    attempts: int = 0
    trace_id: str | None = None
    # The adapter's lease handle for ack/fail (SQS receipt handle; the row id for SQL).
    handle: str | None = None


@dataclass(frozen=True)
class DeadLetter:
    """A poison event parked with its last error; ``id`` is what ``redrive`` takes."""

    id: str
    tenant: str
    source: str
    delivery_id: str
    received_at: datetime
    body: bytes
    error: str | None
    attempts: int
    trace_id: str | None


class WebhookInboxPort(Protocol):
    def store_many(self, deliveries: Sequence[NewDelivery]) -> list[bool]:
        """Store verified deliveries durably in one commit; per delivery True if new, False if the
        (tenant, delivery_id) was already stored."""
        ...

    def backlog_by_tenant(self) -> dict[str, int]:
        """Pending (stored, not yet processed or dead) events per tenant."""
        ...

    def pending_tenants_after(self, cursor_id: int, limit: int = 5000) -> list[tuple[int, str]]:
        """(event id, tenant) of pending events with an id above ``cursor_id``, in id order: what a
        sensor needs to decide which runs to launch. Event ids only grow."""
        ...

    def receive(self, limit: int = 10, lease_seconds: float = 30.0) -> list[InboxEvent]:
        """Lease up to ``limit`` pending events; unacknowledged ones come back after the lease."""
        ...

    def ack(self, events: Sequence[InboxEvent]) -> int:
        """Mark received events processed; returns how many changed."""
        ...

    def fail(self, event: InboxEvent, error: str) -> InboxStatus:
        """Record a failed attempt; at the adapter's max attempts the event becomes a dead letter."""
        ...

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        ...

    def redrive(self, ids: Sequence[str] | None = None) -> int:
        """Put dead letters (all when ``ids`` is None) back in the queue with fresh attempts."""
        ...
