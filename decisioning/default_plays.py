"""The default playbook: one play per signal kind (decisioning/README.md lists them).

Arguments are built only from the account context and our own signal narratives; memory snippets
(which may quote CRM notes or emails) never reach an argument that leaves the system."""

from __future__ import annotations

from typing import Any

from decisioning.contracts import ActionType, RiskTier
from decisioning.plays import Play, PlayStep, Situation, opportunity_in_graph, owner_email_known
from perception.contracts import SignalKind


def _what_changed(situation: Situation) -> str:
    return "\n".join(f"- {narrative}" for narrative in situation.narratives)


def _open_opportunities(situation: Situation) -> str:
    opps = situation.context.open_opportunities
    if not opps:
        return "No open opportunities."
    return "\n".join(
        f"- {opp.name}: {opp.stage}"
        + (f", {opp.amount:,.0f}" if opp.amount is not None else "")
        + (f", closes {opp.close_date}" if opp.close_date else "")
        for opp in opps
    )


def _usage_drop_task(due_in_days: int) -> PlayStep:
    def build(situation: Situation) -> dict[str, Any]:
        return {
            "subject": f"Check in with {situation.account_label}: product usage dropped",
            "body": f"What changed:\n{_what_changed(situation)}\n\n"
            "Call the main contact, find out what changed on their side and agree next steps.",
            "due_in_days": due_in_days,
            "owner": situation.context.owner,
        }

    return PlayStep(ActionType.crm_create_task, RiskTier.L1, build,
                    "The CSM learns why usage fell while the account can still be saved.", 0.7)


def _new_champion_task(due_in_days: int) -> PlayStep:
    def build(situation: Situation) -> dict[str, Any]:
        candidates = [c for c in situation.context.contacts
                      if c.contact_id not in situation.entity_ids and c.status != "departed"]
        listed = "\n".join(f"- {c.name}" + (f" ({c.title})" if c.title else "") for c in candidates[:10])
        return {
            "subject": f"Identify a new champion at {situation.account_label}",
            "body": f"What changed:\n{_what_changed(situation)}\n\n"
            + (f"Contacts to consider:\n{listed}" if listed else "No other contacts are known; find one."),
            "due_in_days": due_in_days,
            "owner": situation.context.owner,
        }

    return PlayStep(ActionType.crm_create_task, RiskTier.L1, build,
                    "A new champion is in place before the account goes dark.", 0.75)


def _notify_owner(subject: str, base_confidence: float, effect: str) -> PlayStep:
    def build(situation: Situation) -> dict[str, Any]:
        return {
            "channel": "owner",
            "recipient": situation.context.owner,
            "subject": f"{situation.account_label}: {subject}",
            "message": f"{_what_changed(situation)}\n\nOpen opportunities:\n{_open_opportunities(situation)}",
        }

    return PlayStep(ActionType.notify_owner, RiskTier.L0, build, effect, base_confidence,
                    preconditions=(owner_email_known,))


def _forecast_to(value: str) -> PlayStep:
    def build(situation: Situation) -> dict[str, Any]:
        return {"object": "opportunities", "record_id": situation.signals[0].entity_id,
                "field": "forecast_category", "value": value}

    return PlayStep(ActionType.crm_update_field, RiskTier.L2, build,
                    f"The forecast stops counting a deal that moved backwards (set to {value!r}).", 0.7,
                    preconditions=(opportunity_in_graph,))


def _expansion_brief() -> PlayStep:
    def build(situation: Situation) -> dict[str, Any]:
        ctx = situation.context
        team = [f"Owner: {ctx.owner or 'unknown'}"]
        team += [f"Champion: {c.name}" + (f" ({c.title})" if c.title else "") for c in ctx.champions]
        return {
            "title": f"Expansion brief: {situation.account_label}",
            "sections": [
                {"heading": "Why now", "body": _what_changed(situation)},
                {"heading": "Account team", "body": "\n".join(team)},
                {"heading": "Open opportunities", "body": _open_opportunities(situation)},
            ],
        }

    return PlayStep(ActionType.draft_meeting_brief, RiskTier.L0, build,
                    "The account team walks into the expansion conversation prepared.", 0.75)


def default_playbooks(due_in_days: int = 3, forecast_value: str = "pipeline") -> dict[SignalKind, Play]:
    return {
        SignalKind.usage_drop: Play((_usage_drop_task(due_in_days),)),
        SignalKind.champion_departed: Play((
            _new_champion_task(due_in_days),
            _notify_owner("champion departed", 0.8, "The owner hears about the departure the same day."),
        )),
        SignalKind.deal_slipped: Play((
            _notify_owner("deal slipped", 0.8, "The owner re-plans the deal before the forecast call."),
        )),
        SignalKind.stage_regression: Play((_forecast_to(forecast_value),), per_entity=True),
        SignalKind.expansion_intent: Play((_expansion_brief(),)),
    }
