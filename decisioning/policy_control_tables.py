"""SQL tables of the policy controls: kill switches, budgets and what each day's decisions used up."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, PrimaryKeyConstraint, String, Table, Text

ANY = "*"  # a kill switch's wildcard: every tenant or every action type

metadata = MetaData()

kill_switches = Table(
    "policy_kill_switches", metadata,
    Column("tenant", String(128), nullable=False),  # a tenant id or ANY
    Column("action_type", String(64), nullable=False),  # an action type or ANY
    Column("mode", String(8), nullable=False),  # stop | pause
    Column("reason", Text, nullable=False),
    Column("set_by", String(256), nullable=False),
    Column("set_at", String(40), nullable=False),
    PrimaryKeyConstraint("tenant", "action_type", name="pk_policy_kill_switches"),
)

budgets = Table(
    "policy_budgets", metadata,
    Column("tenant", String(128), primary_key=True),
    Column("max_actions_per_day", Integer, nullable=True),
    Column("max_spend_per_day_cents", Integer, nullable=True),
    Column("set_by", String(256), nullable=False),
    Column("set_at", String(40), nullable=False),
)

# One row per classified proposal version: re-charging the same decision replaces its row (idempotent).
budget_charges = Table(
    "policy_budget_charges", metadata,
    Column("proposal_id", String(128), nullable=False),
    Column("proposal_version", Integer, nullable=False),
    Column("tenant", String(128), nullable=False),
    Column("day", String(10), nullable=False),  # UTC date, ISO
    Column("actions", Integer, nullable=False),
    Column("spend_cents", Integer, nullable=False),
    Column("charged_at", String(40), nullable=False),
    PrimaryKeyConstraint("proposal_id", "proposal_version", name="pk_policy_budget_charges"),
    Index("ix_policy_budget_charges_tenant_day", "tenant", "day"),
)
