"""The operational tables of the actions layer (SQLite WAL locally, PostgreSQL in AWS).

Timestamps are stored as fixed-width UTC text (``ts``) so that they sort and compare as strings."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy.engine import Engine

metadata = MetaData()

proposals = Table(
    "proposals", metadata,
    Column("proposal_id", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("tenant", String(128), nullable=False),
    Column("account_id", String(128), nullable=False),
    Column("action_type", String(64), nullable=False),
    Column("risk_tier", String(8), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("status", String(32), nullable=False),
    Column("arguments_digest", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("awaiting_review_since", String(32)),
    # Set when the proposal becomes automatic or approved: the cursor a sensor watches.
    Column("ready_seq", Integer, unique=True),
    PrimaryKeyConstraint("proposal_id", "version", name="pk_proposals"),
)
Index("ix_proposals_tenant_status", proposals.c.tenant, proposals.c.status)

policy_decisions = Table(
    "policy_decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("proposal_id", String(128), nullable=False),
    Column("proposal_version", Integer, nullable=False),
    Column("tenant", String(128), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("decided_at", String(32), nullable=False),
    UniqueConstraint("proposal_id", "proposal_version", name="uq_policy_once"),
)

review_decisions = Table(
    "review_decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decision_id", String(64), nullable=False, unique=True),
    Column("proposal_id", String(128), nullable=False),
    Column("proposal_version", Integer, nullable=False),
    Column("tenant", String(128), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("reviewer", String(256), nullable=False),
    Column("body", Text, nullable=False),
    Column("decided_at", String(32), nullable=False),
    # One human decision per proposal version: approving twice is refused by the database too.
    UniqueConstraint("proposal_id", "proposal_version", name="uq_review_once"),
)

action_results = Table(
    "action_results", metadata,
    Column("idempotency_key", String(200), primary_key=True),
    Column("proposal_id", String(128), nullable=False),
    Column("proposal_version", Integer, nullable=False),
    Column("tenant", String(128), nullable=False),
    Column("action_type", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # claimed | succeeded | failed
    Column("claimed_by", String(128), nullable=False),
    Column("claimed_until", String(32), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("body", Text),  # the ActionResult once finished
    Column("completed_at", String(32)),
    Column("published", Integer, nullable=False, default=0),  # 1 once its ledger entry is appended
)

# The binding of one approval: the digest and CRM record version the reviewer saw, until when it may be
# used, and the one idempotency key that used it (the primary key makes a second use impossible).
approvals = Table(
    "approvals", metadata,
    Column("decision_id", String(64), primary_key=True),
    Column("proposal_id", String(128), nullable=False),
    Column("proposal_version", Integer, nullable=False),
    Column("tenant", String(128), nullable=False),
    Column("arguments_digest", String(64), nullable=False),
    Column("record_version", BigInteger),
    Column("approved_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("used_by", String(200)),
    Column("used_at", String(32)),
    UniqueConstraint("proposal_id", "proposal_version", name="uq_approval_once"),
)

# The digest each policy verdict was given, so a proposal row edited afterwards no longer matches.
policy_bindings = Table(
    "policy_bindings", metadata,
    Column("proposal_id", String(128), nullable=False),
    Column("proposal_version", Integer, nullable=False),
    Column("tenant", String(128), nullable=False),
    Column("arguments_digest", String(64), nullable=False),
    PrimaryKeyConstraint("proposal_id", "proposal_version", name="pk_policy_bindings"),
)

info_requests = Table(
    "info_requests", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(128), nullable=False),
    Column("proposal_id", String(128), nullable=False),
    Column("proposal_version", Integer, nullable=False),
    Column("reviewer", String(256), nullable=False),
    Column("question", Text, nullable=False),
    Column("asked_at", String(32), nullable=False),
    Column("answer", Text),
    Column("answered_by", String(256)),
    Column("answered_at", String(32)),
)
Index("ix_info_requests_tenant", info_requests.c.tenant, info_requests.c.answered_at)

# Undo of a finished action, once per action (keyed by the action's idempotency key).
compensations = Table(
    "compensations", metadata,
    Column("idempotency_key", String(200), primary_key=True),
    Column("tenant", String(128), nullable=False),
    Column("proposal_id", String(128), nullable=False),
    Column("state", String(16), nullable=False),  # claimed | succeeded | failed
    Column("claimed_until", String(32), nullable=False),
    Column("body", Text),
    Column("completed_at", String(32)),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("tenant", String(128), nullable=False),
    Column("proposal_id", String(128), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("recipient", String(256), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    # Delivery through Slack/SES: pending until a notifier sent it (or gave up with an error).
    Column("delivery", String(16), nullable=False, default="pending", server_default="pending"),
    Column("external_id", String(256)),
    Column("error", Text),
    Column("claimed_until", String(32)),
    Column("sent_at", String(32)),
)

TABLES: dict[str, Table] = {t.name: t for t in (proposals, policy_decisions, review_decisions,
                                                action_results, outbox, approvals, policy_bindings,
                                                info_requests, compensations)}


def ensure_schema(engine: Engine) -> None:
    """Create missing tables, and add columns introduced later to tables an older release created.

    Only nullable (or server-defaulted) columns are ever added, so the ALTER is the same on both dialects."""
    metadata.create_all(engine)
    with engine.begin() as conn:
        found = inspect(conn)
        for table in metadata.sorted_tables:
            have = {c["name"] for c in found.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                kind = column.type.compile(dialect=engine.dialect)
                server = getattr(column.server_default, "arg", None)
                default = f" DEFAULT '{server}'" if server is not None else ""
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}{default}'))


def ts(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: pass a timezone-aware (UTC) datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
