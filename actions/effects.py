"""What each action type does, given a claimed idempotency key. Every effect passes the key (or a key
derived from it) to its target, so a retry after a crash changes nothing the first attempt did."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from actions.briefs import write_brief
from actions.crm import CrmWriter
from actions.notify import Notifier, deliver
from actions.store_outbox import STORED, OutboxRecords
from decisioning.contracts import Proposal

Effect = tuple[dict[str, str], dict[str, Any], dict[str, Any]]  # external ids, before, after
RENEWAL_REVIEW_LEAD = timedelta(days=30)


class ActionEffects:
    def __init__(self, crm: CrmWriter, outbox: OutboxRecords, artifacts_dir: Path,
                 notifiers: Sequence[Notifier], clock: Callable[[], datetime]) -> None:
        self.crm = crm
        self.outbox = outbox
        self.artifacts_dir = artifacts_dir
        self.notifiers = list(notifiers)
        self.clock = clock

    def run(self, proposal: Proposal, key: str, record_version: int | None) -> Effect:
        kind = proposal.action_type.value
        args = proposal.arguments
        if kind == "crm.create_task":
            return self._task(proposal, key, str(_required(args, "subject")),
                              str(args.get("body") or args.get("description") or ""), _due_date(proposal))
        if kind == "crm.update_field":
            out = self.crm.update_field(
                proposal.tenant, object=str(_required(args, "object")),
                record_id=str(_required(args, "record_id")), field=str(_required(args, "field")),
                value=args.get("value"), idempotency_key=key, expected_version=record_version)
            return {"record_id": out.external_id}, dict(out.before or {}), dict(out.after or {})
        if kind == "notify.owner":
            recipient = args.get("recipient") or args.get("owner") or self._owner(proposal)
            return self._notify(proposal, key, recipient,
                                str(args.get("subject") or f"revloop: account {proposal.account_id}"),
                                str(_required(args, "message", "body", "text")))
        if kind == "draft.meeting_brief":
            path = write_brief(self.artifacts_dir, proposal)
            relative = str(path.relative_to(self.artifacts_dir))
            return {"artifact": relative}, {}, {"path": relative, "bytes": path.stat().st_size}
        if kind == "escalate.exec_sponsor":
            return self._escalate(proposal, key)
        if kind == "schedule.renewal_review":
            return self._renewal_review(proposal, key)
        raise ValueError(f"no executor for action type {kind}")

    def _task(self, proposal: Proposal, key: str, subject: str, body: str, due: str | None) -> Effect:
        out = self.crm.create_task(
            proposal.tenant, account_id=str(proposal.arguments.get("account_id") or proposal.account_id),
            subject=subject, body=body, due_date=due, owner=proposal.arguments.get("owner"),
            idempotency_key=key)
        return {"task_id": out.external_id}, dict(out.before or {}), dict(out.after or {})

    def _owner(self, proposal: Proposal) -> str:
        account = self.crm.get_record(proposal.tenant, "accounts", proposal.account_id) or {}
        owner = account.get("owner_email") or account.get("owner")
        if not owner:
            raise ValueError(f"{proposal.action_type.value} for account {proposal.account_id}: no recipient "
                             "in the arguments and the account has no owner in the CRM")
        return str(owner)

    def _notify(self, proposal: Proposal, key: str, recipient: str, subject: str, body: str) -> Effect:
        """The outbox row is written first (under the key); each configured notifier then sends it once."""
        now = self.clock()
        if not self.notifiers:
            message = self.outbox.add_outbox(proposal.tenant, key, proposal.proposal_id, "outbox", recipient,
                                             subject, body, now, delivery=STORED)
            return ({"outbox_message_id": str(message.message_id)}, {},
                    {"recipient": message.recipient, "subject": message.subject})
        ids: dict[str, str] = {}
        for notifier in self.notifiers:
            message = self.outbox.add_outbox(proposal.tenant, f"{key}#{notifier.channel}",
                                             proposal.proposal_id, notifier.channel, recipient, subject,
                                             body, now, delivery="pending")
            sent = deliver(self.outbox, notifier, message, now)
            ids[f"{notifier.channel}_outbox_id"] = str(sent.message_id)
            if sent.external_id:
                ids[f"{notifier.channel}_message_id"] = sent.external_id
        return ids, {}, {"recipient": recipient, "subject": subject,
                         "channels": [n.channel for n in self.notifiers]}

    def _escalate(self, proposal: Proposal, key: str) -> Effect:
        """A message to the executive sponsor, and a task on the account so the escalation is on record."""
        args = proposal.arguments
        sponsor = str(_required(args, "exec_sponsor"))
        if "@" not in sponsor:
            contact = self.crm.get_record(proposal.tenant, "contacts", sponsor) or {}
            if not contact.get("email"):
                raise ValueError(f"executive sponsor {sponsor!r} has no email address in the CRM")
            sponsor = str(contact["email"])
        subject, message = str(_required(args, "subject")), str(_required(args, "message"))
        reason = str(args.get("reason") or "")
        ids, _, after = self._notify(proposal, key, sponsor, subject, message)
        due = (proposal.created_at.date() + timedelta(days=1)).isoformat()
        task_ids, _, task = self._task(proposal, f"{key}:task", f"Exec sponsor escalation: {subject}",
                                       f"{reason}\n\nSent to {sponsor}:\n{message}", due)
        return {**ids, **task_ids}, {}, {**after, "task": task}

    def _renewal_review(self, proposal: Proposal, key: str) -> Effect:
        """A review meeting booked as a CRM task, due a lead time before the renewal (not in the past)."""
        args = proposal.arguments
        renewal = date.fromisoformat(str(_required(args, "renewal_date")))
        due = max(proposal.created_at.date(), renewal - RENEWAL_REVIEW_LEAD)
        attendees = [str(a) for a in args.get("attendees") or []]
        agenda = [str(a) for a in args.get("agenda") or []]
        body = "\n".join([f"Renewal on {renewal.isoformat()}.", "", "Attendees:",
                          *[f"- {a}" for a in attendees], "", "Agenda:", *[f"- {a}" for a in agenda]])
        ids, before, after = self._task(proposal, key, str(_required(args, "subject")), body, due.isoformat())
        return ids, before, {**after, "attendees": attendees, "renewal_date": renewal.isoformat()}


def _due_date(proposal: Proposal) -> str | None:
    """Due dates count from the proposal, not the execution, so a retry asks for the same date."""
    args = proposal.arguments
    if args.get("due_date"):
        return str(args["due_date"])
    if args.get("due_in_days") is None:
        return None
    return (proposal.created_at.date() + timedelta(days=int(args["due_in_days"]))).isoformat()


def _required(args: dict[str, Any], *names: str) -> Any:
    for name in names:
        if args.get(name) not in (None, ""):
            return args[name]
    raise ValueError(f"argument {' or '.join(repr(n) for n in names)} is required; got {sorted(args)}")
