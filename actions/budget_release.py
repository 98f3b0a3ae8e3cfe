"""A proposal that ends without running gives back what policy took from its tenant's day.

At classification, ``decisioning.controls.Controls.charge`` counts an automatic decision as one
action, and reserves the cost estimate of an automatic or needs-approval one. The store calls this in
the same transaction that moves a proposal version to rejected, expired, superseded or refused, so a
reviewer's rejections never use up the day's budget for what still has to run."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, delete

from decisioning.policy_control_tables import budget_charges


def release_reservations(conn: Connection, versions: Iterable[tuple[str, int]]) -> None:
    """Drop the budget charges of these (proposal id, version) pairs; none charged is fine."""
    for proposal_id, version in versions:
        conn.execute(delete(budget_charges).where(budget_charges.c.proposal_id == proposal_id,
                                                  budget_charges.c.proposal_version == version))
