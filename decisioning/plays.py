"""What a play is: for one signal kind, the actions the playbook agent proposes and when it holds back."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from decisioning.actions import EMAIL_PATTERN
from decisioning.contracts import ActionType, RiskTier
from perception.contracts import Signal, SignalKind
from world_model.contracts import AccountContext, MemoryHit


@dataclass(frozen=True)
class Situation:
    """The signals one proposal answers (one kind; one entity when the play is per entity)."""

    kind: SignalKind
    signals: tuple[Signal, ...]
    context: AccountContext
    memory_hits: tuple[MemoryHit, ...]

    @property
    def account_label(self) -> str:
        return self.context.name or self.context.account_id

    @property
    def narratives(self) -> list[str]:
        return [signal.narrative for signal in self.signals]

    @property
    def entity_ids(self) -> set[str]:
        return {signal.entity_id for signal in self.signals}


ArgumentBuilder = Callable[[Situation], dict[str, Any]]
# Returns why the step must not be proposed (the agent abstains with that reason), or None to go ahead.
Precondition = Callable[[Situation], str | None]


@dataclass(frozen=True)
class PlayStep:
    action_type: ActionType
    risk_tier: RiskTier
    build_arguments: ArgumentBuilder
    expected_effect: str
    base_confidence: float
    preconditions: tuple[Precondition, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.base_confidence <= 1.0:
            raise ValueError(f"base_confidence must be within 0..1, got {self.base_confidence}")


@dataclass(frozen=True)
class Play:
    """``per_entity``: one proposal per signalled entity (e.g. per opportunity) instead of per account."""

    steps: tuple[PlayStep, ...]
    per_entity: bool = False

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("a play needs at least one step")
        types = [step.action_type for step in self.steps]
        if len(set(types)) != len(types):
            # Two steps of one type over the same signals would share a proposal id.
            raise ValueError(f"a play may use each action type once, got {[t.value for t in types]}")


def owner_email_known(situation: Situation) -> str | None:
    owner = situation.context.owner
    if not owner:
        return "the account owner to notify is unknown to the situation graph"
    if not re.match(EMAIL_PATTERN, owner):
        return f"the account owner {owner!r} has no email address to notify"
    return None


def opportunity_in_graph(situation: Situation) -> str | None:
    known = {opp.opportunity_id for opp in situation.context.open_opportunities}
    missing = sorted(situation.entity_ids - known)
    if any(signal.entity_type != "opportunity" for signal in situation.signals):
        return "the signal is not about an opportunity, so there is no record to update"
    if missing:
        return f"opportunity {', '.join(missing)} is not among the account's open opportunities in the graph"
    return None


def signalled_contacts_in_graph(situation: Situation) -> str | None:
    known = {c.contact_id for c in situation.context.contacts}
    missing = sorted(s.entity_id for s in situation.signals
                     if s.entity_type == "contact" and s.entity_id not in known)
    if missing:
        return (f"contact {', '.join(missing)} is not among the account's contacts in the graph; "
                "sync the graph so the play can suggest who else to reach")
    return None


def renewal_date(situation: Situation) -> str | None:
    """The renewal date the signals' evidence names (the newest), if any."""
    dates = [str(e.after) for s in situation.signals for e in s.evidence
             if e.field == "renewal_date" and e.after]
    return max(dates) if dates else None


def renewal_attendees(situation: Situation) -> list[str]:
    """The account owner (by email) and the active champions (by contact id)."""
    ctx = situation.context
    people = [ctx.owner] if ctx.owner and re.match(EMAIL_PATTERN, ctx.owner) else []
    people += [c.contact_id for c in ctx.champions if c.status != "departed"]
    return list(dict.fromkeys(people))


def renewal_review_possible(situation: Situation) -> str | None:
    if renewal_date(situation) is None:
        return "the renewal date is not in the signal's evidence"
    if not renewal_attendees(situation):
        return "nobody to invite: the account has no owner email and no active champion in the graph"
    return None
