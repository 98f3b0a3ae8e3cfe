"""What the review pages and the JSON API show about a proposal: summary, evidence, JSON shapes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from actions.status import ProposalStatus, StoredProposal
from decisioning.contracts import Proposal
from perception.contracts import Signal

if TYPE_CHECKING:
    from actions.views_crm import CrmChange

SignalLookup = Callable[[str], Signal | None]
RecordLookup = Callable[[str, str, str], dict[str, Any] | None]  # tenant, object, record id

_MEMORY_DETAIL = re.compile(r"^(?P<source>[^,]+), score (?P<score>-?[\d.]+): (?P<snippet>.*)$", re.S)
STATUS_ALIASES = {"pending": ProposalStatus.needs_approval.value, "all": None}
STATUS_FILTERS = (*STATUS_ALIASES, *(s.value for s in ProposalStatus))  # what status_filter takes


class UnknownStatusError(ValueError):
    pass


def status_filter(value: str | None) -> str | None:
    """'pending' (the default inbox), 'all', or one of the lifecycle statuses."""
    if value is None or value == "":
        return ProposalStatus.needs_approval.value
    if value in STATUS_ALIASES:
        return STATUS_ALIASES[value]
    if value in {s.value for s in ProposalStatus}:
        return value
    raise UnknownStatusError(f"unknown status {value!r}; use one of: {', '.join(STATUS_FILTERS)}")


@dataclass(frozen=True)
class EvidenceItem:
    kind: str
    ref: str
    detail: str | None
    signal: Signal | None  # None for graph paths and memory hits, or a signal that is not available

    @property
    def path_steps(self) -> list[str]:
        """A graph path's alternating vertices and edges (``Account:a1 -> WORKS_AT -> Contact:c3``)."""
        return self.ref.split(" -> ") if self.kind == "graph_path" else []

    @property
    def memory(self) -> dict[str, str] | None:
        """A memory hit's source, score and snippet, as decisioning.evidence writes them."""
        if self.kind != "memory_hit" or not self.detail:
            return None
        match = _MEMORY_DETAIL.match(self.detail)
        if match is None:
            return {"source": "", "score": "", "snippet": self.detail}
        return match.groupdict()


def age(since: datetime, now: datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def expires_at(stored: StoredProposal, ttl: timedelta) -> datetime | None:
    if stored.status is not ProposalStatus.needs_approval or stored.awaiting_review_since is None:
        return None
    return stored.awaiting_review_since + ttl


def evidence_items(proposal: Proposal, lookup: SignalLookup) -> list[EvidenceItem]:
    items = []
    for citation in proposal.evidence:
        signal = lookup(citation.ref) if citation.kind == "signal" else None
        if signal is not None and signal.tenant != proposal.tenant:
            signal = None  # never show another tenant's data, whatever the proposal cites
        items.append(EvidenceItem(citation.kind, citation.ref, citation.detail, signal))
    return items


def summary_json(stored: StoredProposal, now: datetime, ttl: timedelta) -> dict[str, Any]:
    p = stored.proposal
    expiry = expires_at(stored, ttl)
    return {
        "proposal_id": p.proposal_id, "version": p.version, "tenant": p.tenant,
        "account_id": p.account_id, "action_type": p.action_type.value, "risk_tier": p.risk_tier.value,
        "confidence": p.confidence, "status": stored.status.value, "rationale": p.rationale,
        "created_at": p.created_at.isoformat(), "age": age(p.created_at, now),
        "arguments_digest": p.arguments_digest,
        "review_expires_at": expiry.isoformat() if expiry else None,
    }


def detail_json(stored: StoredProposal, now: datetime, ttl: timedelta, evidence: list[EvidenceItem],
                changes: list[CrmChange]) -> dict[str, Any]:
    return {
        **summary_json(stored, now, ttl),
        "proposal": stored.proposal.model_dump(mode="json"),
        "policy": stored.policy.model_dump(mode="json") if stored.policy else None,
        "review": stored.review.model_dump(mode="json") if stored.review else None,
        "result": stored.result.model_dump(mode="json") if stored.result else None,
        "evidence": [{"kind": e.kind, "ref": e.ref, "detail": e.detail,
                      "signal": e.signal.model_dump(mode="json") if e.signal else None}
                     for e in evidence],
        "crm_changes": [{"object": c.object, "record_id": c.record_id, "field": c.field,
                         "current": c.current, "proposed": c.proposed, "record_version": c.record_version,
                         "record_found": c.record_found, "creates": c.creates} for c in changes],
    }
