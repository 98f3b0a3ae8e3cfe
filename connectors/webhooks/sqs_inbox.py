"""The webhook inbox on Amazon SQS: a standard queue whose redrive policy moves messages received
``max_attempts`` times without a delete to a dead-letter queue, plus a SQL claims table (Aurora in
AWS, SQLite locally) for permanent dedupe, event numbers and per-tenant backlog.

Store order: look the (tenant, id) up in the claims -> send to SQS (durable once SendMessage
answers) -> insert the claim naming that message. A crash or a race between send and claim can leave
an extra message; the consumer side settles it: a received message whose claim names another
message is a duplicate and is deleted, one without a claim adopts it. So an acknowledged delivery
is always in the queue, and each (tenant, id) reaches consumers once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from connectors.webhooks.inbox_schema import next_id
from connectors.webhooks.port import (
    MAX_ERROR_CHARS,
    DeadLetter,
    InboxEvent,
    InboxStatus,
    InboxStorageError,
    NewDelivery,
)
from connectors.webhooks.sqs_claims import metadata, sqs_claims
from ledger.sql import make_engine

c = sqs_claims.c
_META = ("tenant", "source", "delivery_id", "received_at", "trace_id")
_PEEK_SECONDS = 5


def create_inbox_queues(sqs: Any, name: str, max_attempts: int = 5) -> tuple[str, str]:
    """Create (or find) the queue ``name`` and its dead-letter queue ``name-dlq``; returns both URLs."""
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq",
                               Attributes={"MessageRetentionPeriod": str(14 * 24 * 3600)})["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]
    dlq_arn = attributes["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_attempts)})
    queue_url = sqs.create_queue(QueueName=name, Attributes={
        "RedrivePolicy": policy, "VisibilityTimeout": "30",
        "MessageRetentionPeriod": str(14 * 24 * 3600)})["QueueUrl"]
    return queue_url, dlq_url


class SqsWebhookInbox:
    """``sqs`` is a boto3 SQS client; ``claims_url`` a SQLAlchemy URL (PostgreSQL or SQLite)."""

    def __init__(self, sqs: Any, queue_url: str, dead_letter_url: str, claims_url: str,
                 max_attempts: int = 5, clock: Callable[[], float] = time.time) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.dead_letter_url = dead_letter_url
        self.max_attempts = max_attempts
        self._clock = clock
        self.engine = make_engine(claims_url)
        metadata.create_all(self.engine)

    def store_many(self, deliveries: Sequence[NewDelivery]) -> list[bool]:
        keys = [(d.tenant, d.delivery_id) for d in deliveries]
        try:
            with self.engine.connect() as conn:
                known = set(conn.execute(select(c.tenant, c.delivery_id)
                                         .where(tuple_(c.tenant, c.delivery_id).in_(set(keys)))).all())
        except SQLAlchemyError as exc:
            raise InboxStorageError(f"webhook claims read failed: {exc}") from exc
        first: dict[tuple[str, str], NewDelivery] = {}
        for key, delivery in zip(keys, deliveries, strict=True):
            if key not in known and key not in first:
                first[key] = delivery
        message_ids = self._send(self.queue_url, list(first.values()))
        rows = [{"tenant": d.tenant, "delivery_id": d.delivery_id, "source": d.source,
                 "message_id": message_ids[i], "state": "queued", "claimed_at": self._clock()}
                for i, d in enumerate(first.values())]
        claimed = self._claim(rows)
        winners = {key for key, won in zip(first, claimed, strict=True) if won}
        results = []
        for key in keys:
            results.append(key in winners)
            winners.discard(key)  # a later copy in the same batch is a duplicate
        return results

    def _send(self, queue_url: str, deliveries: Sequence[NewDelivery],
              extra: dict[str, str] | None = None) -> list[str]:
        ids: list[str] = []
        for start in range(0, len(deliveries), 10):
            chunk = deliveries[start:start + 10]
            entries = [{"Id": str(n), "MessageBody": d.body.decode("utf-8"),
                        "MessageAttributes": _attributes(d, extra)} for n, d in enumerate(chunk)]
            try:
                answer = self.sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            except Exception as exc:  # botocore raises many types; every one means "not stored"
                raise InboxStorageError(f"SQS send failed: {type(exc).__name__}: {exc}") from exc
            if answer.get("Failed"):
                reasons = "; ".join(f"{f.get('Code')}: {f.get('Message')}" for f in answer["Failed"])
                raise InboxStorageError(f"SQS refused {len(answer['Failed'])} messages: {reasons}")
            by_entry = {s["Id"]: s["MessageId"] for s in answer["Successful"]}
            ids.extend(by_entry[str(n)] for n in range(len(chunk)))
        return ids

    def _claim(self, rows: list[dict[str, Any]]) -> list[bool]:
        if not rows:
            return []
        dialect = sqlite if self.engine.dialect.name == "sqlite" else postgresql
        statement = dialect.insert(sqs_claims).on_conflict_do_nothing(
            index_elements=[c.tenant, c.delivery_id])
        try:
            with self.engine.begin() as conn:
                return [conn.execute(statement, row).rowcount == 1 for row in rows]
        except SQLAlchemyError as exc:
            raise InboxStorageError(f"webhook claims write failed (the message was sent; a retry "
                                    f"is safe): {exc}") from exc

    def backlog_by_tenant(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.tenant, func.count()).where(c.state == "queued")
                                .group_by(c.tenant)).all()
        return {tenant: int(n) for tenant, n in rows}

    def pending_tenants_after(self, cursor_id: int, limit: int = 5000) -> list[tuple[int, str]]:
        """(claim id, tenant) of queued events with a claim id above ``cursor_id``, in id order."""
        query = (select(c.id, c.tenant).where(c.state == "queued", c.id > cursor_id).order_by(c.id)
                 .limit(limit))
        with self.engine.connect() as conn:
            return [(int(id_), tenant) for id_, tenant in conn.execute(query)]

    def receive(self, limit: int = 10, lease_seconds: float = 30.0) -> list[InboxEvent]:
        events: list[InboxEvent] = []
        while len(events) < limit:
            messages = self._receive(self.queue_url, min(10, limit - len(events)), int(lease_seconds))
            if not messages:
                break
            for message in messages:
                event = self._settle(message)
                if event is not None:
                    events.append(event)
        return events

    def _settle(self, message: dict[str, Any]) -> InboxEvent | None:
        meta = _meta(message)
        with self.engine.begin() as conn:
            claim = conn.execute(select(c.id, c.message_id, c.state).where(
                c.tenant == meta["tenant"], c.delivery_id == meta["delivery_id"])).first()
            if claim is None:
                claim_id = conn.execute(sqs_claims.insert().values(
                    tenant=meta["tenant"], delivery_id=meta["delivery_id"], source=meta["source"],
                    message_id=message["MessageId"], state="queued", claimed_at=self._clock())
                ).inserted_primary_key[0]
            elif claim.message_id != message["MessageId"] or claim.state == "processed":
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                return None
            else:
                claim_id = claim.id
        d = _delivery_of(message)
        return InboxEvent(id=int(claim_id), tenant=d.tenant, source=d.source, delivery_id=d.delivery_id,
                          received_at=d.received_at, body=d.body, status="pending", error=None,
                          attempts=int(message["Attributes"]["ApproximateReceiveCount"]),
                          trace_id=d.trace_id, handle=message["ReceiptHandle"])

    def ack(self, events: Sequence[InboxEvent]) -> int:
        done = 0
        for event in events:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=_handle(event))
            done += self._set_state([event.id], "processed", only_from="queued")
        return done

    def fail(self, event: InboxEvent, error: str) -> InboxStatus:
        if event.attempts < self.max_attempts:
            self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=_handle(event),
                                               VisibilityTimeout=0)
            return "pending"
        delivery = NewDelivery(event.tenant, event.source, event.delivery_id, event.received_at,
                               event.body, event.trace_id)
        [message_id] = self._send(self.dead_letter_url, [delivery],
                                  {"error": error[:MAX_ERROR_CHARS] or "(no error text)",
                                   "attempts": str(event.attempts)})
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=_handle(event))
        with self.engine.begin() as conn:
            conn.execute(update(sqs_claims).where(c.id == event.id)
                         .values(state="dead", message_id=message_id))
        return "dead"

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        letters = []
        for message, claim_id in self._peek_dead(limit):
            meta, d = _meta(message), _delivery_of(message)
            letters.append(DeadLetter(
                id=str(claim_id), tenant=d.tenant, source=d.source, delivery_id=d.delivery_id,
                received_at=d.received_at, body=d.body, trace_id=d.trace_id,
                error=meta.get("error") or f"received {self.max_attempts} times without an ack "
                                            "(moved by the queue's redrive policy)",
                attempts=int(meta.get("attempts") or self.max_attempts)))
        return sorted(letters, key=lambda letter: int(letter.id))

    def redrive(self, ids: Sequence[str] | None = None) -> int:
        wanted = None if ids is None else set(ids)
        found = [(m, claim_id) for m, claim_id in self._peek_dead(10_000)
                 if wanted is None or str(claim_id) in wanted]
        if wanted is not None and (missing := wanted - {str(claim_id) for _, claim_id in found}):
            raise KeyError(f"no dead letter with id {', '.join(sorted(missing))}; list them with "
                           "'revloop webhook dlq list'")
        for message, claim_id in found:
            [message_id] = self._send(self.queue_url, [_delivery_of(message)])
            with self.engine.begin() as conn:  # a new claim id: the sensor launches a run for it
                conn.execute(update(sqs_claims).where(c.id == claim_id)
                             .values(id=next_id(conn, sqs_claims), state="queued", message_id=message_id))
            self.sqs.delete_message(QueueUrl=self.dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
        return len(found)

    def _peek_dead(self, limit: int) -> Iterator[tuple[dict[str, Any], int]]:
        """Every dead-letter message (up to ``limit``) with its claim id; SQS can only list by
        receiving, so each is hidden briefly and made visible again afterwards."""
        seen: list[dict[str, Any]] = []
        while len(seen) < limit:
            batch = self._receive(self.dead_letter_url, min(10, limit - len(seen)), _PEEK_SECONDS)
            if not batch:
                break
            seen.extend(batch)
        try:
            with self.engine.connect() as conn:
                for message in seen:
                    meta = _meta(message)
                    claim_id = conn.execute(select(c.id).where(
                        c.tenant == meta["tenant"], c.delivery_id == meta["delivery_id"])).scalar()
                    if claim_id is not None:
                        yield message, int(claim_id)
        finally:
            for message in seen:
                self.sqs.change_message_visibility(
                    QueueUrl=self.dead_letter_url, ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=0)

    def _receive(self, queue_url: str, count: int, visibility: int) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=count, VisibilityTimeout=visibility, WaitTimeSeconds=0,
            MessageAttributeNames=["All"], MessageSystemAttributeNames=["ApproximateReceiveCount"])
        return list(answer.get("Messages", []))

    def _set_state(self, ids: list[int], state: str, only_from: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(update(sqs_claims).where(c.id.in_(ids), c.state == only_from)
                                .values(state=state)).rowcount


def _attributes(delivery: NewDelivery, extra: dict[str, str] | None) -> dict[str, Any]:
    values = {"tenant": delivery.tenant, "source": delivery.source, "delivery_id": delivery.delivery_id,
              "received_at": delivery.received_at.isoformat(), "trace_id": delivery.trace_id or ""}
    values.update(extra or {})
    # SQS refuses empty attribute values; an absent trace id is sent as a single space.
    return {k: {"DataType": "String", "StringValue": v or " "} for k, v in values.items()}


def _meta(message: dict[str, Any]) -> dict[str, str]:
    attributes = message.get("MessageAttributes", {})
    meta = {k: v["StringValue"].strip() for k, v in attributes.items() if "StringValue" in v}
    if any(not meta.get(name) for name in _META[:4]):
        raise ValueError(f"SQS message {message.get('MessageId')} lacks the inbox attributes; it was not "
                         "sent by SqsWebhookInbox")
    return meta


def _delivery_of(message: dict[str, Any]) -> NewDelivery:
    meta = _meta(message)
    return NewDelivery(meta["tenant"], meta["source"], meta["delivery_id"],
                       datetime.fromisoformat(meta["received_at"]), message["Body"].encode("utf-8"),
                       meta.get("trace_id") or None)


def _handle(event: InboxEvent) -> str:
    if not event.handle:
        raise ValueError("this event was not received from the SQS inbox (no receipt handle)")
    return event.handle
