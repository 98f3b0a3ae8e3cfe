"""Claims of the SQS inbox: one SQL row per (tenant, delivery id) that dedupes deliveries for ever
(SQS itself dedupes only FIFO queues, and only for 5 minutes), numbers events, tracks their state for
per-tenant backlog counts and names the one SQS message that carries each event."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, UniqueConstraint

metadata = MetaData()

sqs_claims = Table(
    "webhook_sqs_claims", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(128), nullable=False),
    Column("delivery_id", String(256), nullable=False),
    Column("source", String(64), nullable=False),
    Column("message_id", String(128), nullable=False),
    Column("state", String(16), nullable=False),  # queued | processed | dead
    Column("claimed_at", Float, nullable=False),
    UniqueConstraint("tenant", "delivery_id", name="uq_webhook_sqs_claims_tenant_delivery"),
    Index("ix_webhook_sqs_claims_state_tenant", "state", "tenant"),
)
