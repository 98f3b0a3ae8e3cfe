"""The inbox: SLA timers against the approval window, and the age and SLA filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from actions.status import ProposalStatus, StoredProposal

DUE_SOON_FRACTION = 0.25  # less than a quarter of the approval window left
AGE_CHOICES = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "1d": timedelta(days=1),
               "2d": timedelta(days=2), "7d": timedelta(days=7)}


class SlaState(StrEnum):
    on_time = "on_time"
    due_soon = "due_soon"
    overdue = "overdue"


@dataclass(frozen=True)
class SlaTimer:
    """How long a proposal has waited for review, against the window in which it may be approved."""

    waited: timedelta
    window: timedelta
    state: SlaState

    @property
    def remaining(self) -> timedelta:
        return self.window - self.waited

    @property
    def label(self) -> str:
        if self.state is SlaState.overdue:
            return f"overdue by {duration(-self.remaining)}"
        return f"{duration(self.remaining)} left"

    @property
    def mark(self) -> str:
        """What the inbox shows: words, not only colour, for each state."""
        if self.state is SlaState.overdue:
            return f"OVERDUE by {duration(-self.remaining)}"
        if self.state is SlaState.due_soon:
            return f"Due soon: {self.label}"
        return self.label


class UnknownFilterError(ValueError):
    pass


def duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {rest // 60}m" if rest // 60 else f"{hours}h"
    return f"{rest // 60}m"


def sla_timer(stored: StoredProposal, now: datetime, window: timedelta) -> SlaTimer | None:
    """Only proposals awaiting review have a running timer."""
    if stored.status is not ProposalStatus.needs_approval or stored.awaiting_review_since is None:
        return None
    waited = max(timedelta(0), now - stored.awaiting_review_since)
    if waited >= window:
        state = SlaState.overdue
    elif window - waited <= window * DUE_SOON_FRACTION:
        state = SlaState.due_soon
    else:
        state = SlaState.on_time
    return SlaTimer(waited, window, state)


def parse_older_than(value: str | None) -> timedelta | None:
    if not value:
        return None
    if value not in AGE_CHOICES:
        raise UnknownFilterError(f"unknown age filter {value!r}; use one of: {', '.join(AGE_CHOICES)}")
    return AGE_CHOICES[value]


def parse_sla(value: str | None) -> SlaState | None:
    if not value:
        return None
    try:
        return SlaState(value)
    except ValueError:
        known = ", ".join(s.value for s in SlaState)
        raise UnknownFilterError(f"unknown SLA filter {value!r}; use one of: {known}") from None


def inbox_rows(items: list[StoredProposal], now: datetime, window: timedelta,
               older_than: timedelta | None = None,
               sla: SlaState | None = None) -> list[tuple[StoredProposal, SlaTimer | None]]:
    """Filter by age (since proposed) and SLA state; the most urgent review comes first."""
    rows = []
    for stored in items:
        timer = sla_timer(stored, now, window)
        if older_than is not None and now - stored.proposal.created_at < older_than:
            continue
        if sla is not None and (timer is None or timer.state is not sla):
            continue
        rows.append((stored, timer))
    rows.sort(key=lambda row: row[1].remaining if row[1] is not None else timedelta.max)
    return rows
