"""The notification port and its delivery through the outbox (claim, send once, record the outcome).

The embedded default has no notifier: messages stay in the outbox (``stored``) for the review UI.
With Slack or SES configured, each message is claimed before sending; a sender that dies between the
vendor's acceptance and recording it leaves the claim to expire and the message is sent again — neither
Slack incoming webhooks nor SES take an idempotency key, so that one window is at-least-once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from actions.status import OutboxMessage
from actions.store_outbox import OutboxRecords


class Notifier(Protocol):
    channel: str  # "slack" | "email": the outbox row's channel

    def send(self, message: OutboxMessage) -> str | None:
        """Deliver one message; returns the vendor's message id if it gives one. Raises on failure."""
        ...


class NotificationFailed(RuntimeError):
    """A notifier refused or could not deliver a message; the outbox row holds the error."""


def deliver(store: OutboxRecords, notifier: Notifier, message: OutboxMessage, now: datetime,
            lease: timedelta = timedelta(minutes=5)) -> OutboxMessage:
    """Send one outbox message unless it was sent already; failures are recorded, then raised."""
    claimed, current = store.claim_delivery(message.message_id, now, lease)
    if not claimed:
        if current.delivery == "failed":
            raise NotificationFailed(
                f"{notifier.channel} message {current.message_id} failed: {current.error}")
        return current
    try:
        external_id = notifier.send(current)
    except Exception as exc:
        store.finish_delivery(current.message_id, now, error=f"{type(exc).__name__}: {exc}")
        raise NotificationFailed(f"{notifier.channel} delivery to {current.recipient} failed: {exc}") from exc
    return store.finish_delivery(current.message_id, now, external_id=external_id)
