"""The default playbook: one play per signal kind (decisioning/README.md lists them).

Arguments are built only from the account context and our own signal narratives; memory snippets
(which may quote CRM notes or emails) never reach an argument that leaves the system."""

from __future__ import annotations

from typing import Any

from decisioning.contracts import ActionType, RiskTier
from decisioning.plays import (
    Play,
    PlayStep,
    Precondition,
    Situation,
    opportunity_in_graph,
    owner_email_known,
    renewal_attendees,
    renewal_date,
    renewal_review_possible,
    signalled_contacts_in_graph,
)
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


def _active_contacts(situation: Situation) -> str:
    people = [c for c in situation.context.contacts
              if c.contact_id not in situation.entity_ids and c.status != "departed"]
    if not people:
        return "No other active contacts are known; find some."
    return "Contacts to consider:\n" + "\n".join(
        f"- {c.name}" + (f" ({c.title})" if c.title else "") + (f", {c.role}" if c.role else "")
        for c in people[:10])


def _task(subject: str, advice: str, effect: str, base_confidence: float, due_in_days: int,
          list_contacts: bool = False, preconditions: tuple[Precondition, ...] = ()) -> PlayStep:
    """A CRM task for the account owner; ``subject`` may name ``{account}``."""
    def build(situation: Situation) -> dict[str, Any]:
        body = f"What changed:\n{_what_changed(situation)}\n\n{advice}"
        if list_contacts:
            body += f"\n\n{_active_contacts(situation)}"
        return {
            "subject": subject.format(account=situation.account_label),
            "body": body,
            "due_in_days": due_in_days,
            "owner": situation.context.owner,
        }

    return PlayStep(ActionType.crm_create_task, RiskTier.L1, build, effect, base_confidence, preconditions)


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


def _brief(kind: str, effect: str) -> PlayStep:
    def build(situation: Situation) -> dict[str, Any]:
        ctx = situation.context
        team = [f"Owner: {ctx.owner or 'unknown'}"]
        team += [f"Champion: {c.name}" + (f" ({c.title})" if c.title else "") for c in ctx.champions]
        return {
            "title": f"{kind} brief: {situation.account_label}",
            "sections": [
                {"heading": "Why now", "body": _what_changed(situation)},
                {"heading": "Account team", "body": "\n".join(team)},
                {"heading": "Open opportunities", "body": _open_opportunities(situation)},
            ],
        }

    return PlayStep(ActionType.draft_meeting_brief, RiskTier.L0, build, effect, 0.75)


def _renewal_review() -> PlayStep:
    def build(situation: Situation) -> dict[str, Any]:
        return {
            "subject": f"Renewal review: {situation.account_label}",
            "renewal_date": renewal_date(situation),
            "attendees": renewal_attendees(situation),
            "agenda": ["What changed and the renewal risks", "Adoption and product usage",
                       "Open opportunities and commercial terms", "Owners and next steps"],
        }

    return PlayStep(ActionType.schedule_renewal_review, RiskTier.L1, build,
                    "The team reviews the renewal together while there is time to act.", 0.7,
                    preconditions=(renewal_review_possible,))


def default_playbooks(due_in_days: int = 3, forecast_value: str = "pipeline") -> dict[SignalKind, Play]:
    """One play per SignalKind (decisioning/README.md, 'The default plays')."""
    d = due_in_days
    return {
        SignalKind.usage_drop: Play((_task(
            "Check in with {account}: product usage dropped",
            "Call the main contact, find out what changed on their side and agree next steps.",
            "The CSM learns why usage fell while the account can still be saved.", 0.7, d),)),
        SignalKind.champion_departed: Play((
            _task("Identify a new champion at {account}",
                  "Find someone among the remaining contacts to carry the relationship.",
                  "A new champion is in place before the account goes dark.", 0.75, d, list_contacts=True,
                  preconditions=(signalled_contacts_in_graph,)),
            _notify_owner("champion departed", 0.8, "The owner hears about the departure the same day."),
        )),
        SignalKind.deal_slipped: Play((
            _notify_owner("deal slipped", 0.8, "The owner re-plans the deal before the forecast call."),
        )),
        SignalKind.stage_regression: Play((_forecast_to(forecast_value),), per_entity=True),
        SignalKind.expansion_intent: Play((_brief(
            "Expansion", "The account team walks into the expansion conversation prepared."),)),
        SignalKind.seat_contraction: Play((
            _task("Find out why {account} cut seats",
                  "Ask the champion what drove the reduction (budget, adoption, a competitor) and agree a "
                  "plan to win the seats back.",
                  "The CSM learns why seats were cut before the renewal conversation.", 0.7, d),
            _notify_owner("seats cut", 0.75, "The owner hears about the contraction the same day."),
        )),
        SignalKind.amount_reduced: Play((
            _notify_owner("deal amount reduced", 0.75, "The owner re-forecasts the deal at its new size."),
        )),
        SignalKind.no_activity: Play((_task(
            "Re-engage {account}: a deal has gone quiet",
            "Reach out with a concrete next step (a call, a proposal review); if nobody answers, ask the "
            "champion who else should be involved.",
            "The deal gets a next step before it goes cold.", 0.7, d),)),
        SignalKind.ghosted: Play((_task(
            "{account} stopped replying: reach another contact",
            "Our outreach is going unanswered. Try a different person or channel rather than another email "
            "to the same contact.",
            "The deal is re-threaded through someone who answers.", 0.7, d, list_contacts=True),)),
        SignalKind.too_few_contacts: Play((_task(
            "Multi-thread the deal at {account}",
            "The deal hangs on a single contact. Ask them to introduce colleagues who use the product or "
            "sign off on it.",
            "A second and third contact are engaged before the deal depends on one person.", 0.65, d,
            list_contacts=True),)),
        SignalKind.no_economic_buyer: Play((_task(
            "Engage the economic buyer at {account}",
            "The deal is late in the cycle without anyone who signs. Ask the champion to introduce the "
            "budget owner and book a meeting with them.",
            "The person who signs is engaged before the deal reaches paperwork.", 0.7, d,
            list_contacts=True),)),
        SignalKind.stalled_in_stage: Play((
            _notify_owner("deal stalled", 0.7, "The owner agrees a next step or re-qualifies the deal."),
        )),
        SignalKind.renewal_approaching: Play((
            _brief("Renewal",
                   "The account team prepares the renewal with its risks and opportunities in view."),
            _renewal_review(),
        )),
    }
