"""The notification outbox: one row per message and channel, written before anything is sent.

A mixin of OperationalStore. The executor stores the message under the action's idempotency key (a
repeat finds the stored row), then a notifier claims it, sends it and records the outcome. Where no
sender is configured (the embedded default) the message stays ``stored`` and the review UI shows it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, or_, select, update

from actions.status import OutboxMessage
from actions.tables import outbox, parse_ts, ts

STORED = "stored"  # kept for the UI only; nothing will send it


class OutboxRecords:
    engine: Engine

    def add_outbox(self, tenant: str, idempotency_key: str, proposal_id: str, channel: str,
                   recipient: str, subject: str, body: str, now: datetime,
                   delivery: str = STORED) -> OutboxMessage:
        """Queue a notification once per idempotency key; a repeat returns the stored message."""
        with self.engine.begin() as conn:
            row = conn.execute(select(outbox).where(outbox.c.idempotency_key == idempotency_key)).first()
            if row is None:
                conn.execute(insert(outbox).values(
                    idempotency_key=idempotency_key, tenant=tenant, proposal_id=proposal_id,
                    channel=channel, recipient=recipient, subject=subject, body=body,
                    created_at=ts(now), delivery=delivery))
                row = conn.execute(select(outbox).where(
                    outbox.c.idempotency_key == idempotency_key)).one()
        return outbox_message(row)

    def outbox(self, tenant: str, limit: int = 200, channel: str | None = None,
               delivery: str | None = None) -> list[OutboxMessage]:
        """The tenant's notifications, newest first (what the review UI lists)."""
        query = select(outbox).where(outbox.c.tenant == tenant)
        if channel is not None:
            query = query.where(outbox.c.channel == channel)
        if delivery is not None:
            query = query.where(outbox.c.delivery == delivery)
        query = query.order_by(outbox.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [outbox_message(row) for row in conn.execute(query)]

    def claim_delivery(self, message_id: int, now: datetime, lease: timedelta) -> tuple[bool, OutboxMessage]:
        """Take the right to send one message: False (and the row) when it was sent, failed for good, or
        another sender holds an unexpired claim on it."""
        with self.engine.begin() as conn:
            claimed = conn.execute(update(outbox).where(
                outbox.c.id == message_id,
                or_(outbox.c.delivery == "pending",
                    (outbox.c.delivery == "sending") & (outbox.c.claimed_until < ts(now))),
            ).values(delivery="sending", claimed_until=ts(now + lease))).rowcount
            row = conn.execute(select(outbox).where(outbox.c.id == message_id)).one()
        return bool(claimed), outbox_message(row)

    def finish_delivery(self, message_id: int, now: datetime, external_id: str | None = None,
                        error: str | None = None) -> OutboxMessage:
        with self.engine.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.id == message_id).values(
                delivery="failed" if error else "sent", external_id=external_id, error=error,
                sent_at=ts(now)))
            row = conn.execute(select(outbox).where(outbox.c.id == message_id)).one()
        return outbox_message(row)


def outbox_message(row: Any) -> OutboxMessage:
    return OutboxMessage(
        message_id=row.id, tenant=row.tenant, idempotency_key=row.idempotency_key,
        proposal_id=row.proposal_id, channel=row.channel, recipient=row.recipient, subject=row.subject,
        body=row.body, created_at=parse_ts(row.created_at), delivery=row.delivery or "pending",
        external_id=row.external_id, error=row.error,
        sent_at=parse_ts(row.sent_at) if row.sent_at else None)
