"""Replay: rebuild a recorded decision from the ledger and check it hash for hash.

For each ``proposal.created`` entry: find the ``decision.inputs`` entry it came from (by the proposal's
``inputs_digest``), re-run the recorded agent version on the recorded inputs (a model-backed agent
re-validates its recorded model output; no model is called), and compare three hashes:

- **ledger entry**: both entries' payload digests and entry hashes recompute, and each links to the
  entry before it;
- **inputs**: the digest of the recorded DecisionRecord equals the proposal's ``inputs_digest``;
- **proposal payload**: the replayed proposal's canonical payload digest equals the recorded one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from decisioning.agent import DECISION_INPUTS_KIND, DecisionAgent, DecisionRecord, record_digest
from decisioning.contracts import Proposal
from decisioning.playbook import PlaybookAgent
from ledger.entry import LedgerEntry, entry_hash, payload_digest
from ledger.store import Ledger

AgentFactory = Callable[[DecisionRecord], DecisionAgent]
Status = Literal["match", "mismatch", "not_replayable"]


def _playbook_for(record: DecisionRecord) -> DecisionAgent:
    return PlaybookAgent.from_config(record.agent_config)


DEFAULT_AGENTS: dict[str, AgentFactory] = {PlaybookAgent.name: _playbook_for}


@dataclass(frozen=True)
class HashCheck:
    name: str
    recorded: str | None
    recomputed: str | None

    @property
    def ok(self) -> bool:
        return self.recorded is not None and self.recorded == self.recomputed


@dataclass(frozen=True)
class ReplayReport:
    tenant: str
    proposal_id: str
    seq: int | None  # the proposal.created entry replayed
    checks: list[HashCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> Status:
        if any(not check.ok for check in self.checks):
            return "mismatch"
        return "not_replayable" if self.problems else "match"

    @property
    def matches(self) -> bool:
        return self.status == "match"

    def describe(self) -> str:
        where = f" (ledger #{self.seq})" if self.seq is not None else ""
        lines = [f"{self.proposal_id}{where}: {self.status}"]
        for check in self.checks:
            mark = "ok  " if check.ok else "DIFF"
            detail = "" if check.ok else f"  recorded {check.recorded}, recomputed {check.recomputed}"
            lines.append(f"  {mark} {check.name}{detail}")
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


@dataclass(frozen=True)
class ReplaySummary:
    tenant: str
    reports: list[ReplayReport]

    def count(self, status: Status) -> int:
        return sum(1 for report in self.reports if report.status == status)

    @property
    def ok(self) -> bool:
        return self.count("mismatch") == 0

    def describe(self) -> str:
        head = (f"{self.tenant}: {len(self.reports)} proposals replayed, {self.count('match')} match, "
                f"{self.count('mismatch')} mismatch, {self.count('not_replayable')} not replayable")
        return "\n".join([head, *(r.describe() for r in self.reports if not r.matches)])


class _TenantLedger:
    """A tenant's entries read once, with each entry's recomputed hashes."""

    def __init__(self, ledger: Ledger, tenant: str) -> None:
        self.tenant = tenant
        self.entries = ledger.entries(tenant)
        pairs = zip(self.entries, self.entries[1:], strict=False)
        self.previous = {e.seq: prev.entry_hash for prev, e in pairs}
        self.inputs = [e for e in self.entries if e.kind == DECISION_INPUTS_KIND]
        self.replayed: dict[int, tuple[list[Proposal], list[str]]] = {}

    def entry_check(self, entry: LedgerEntry) -> HashCheck:
        digest = payload_digest(entry.payload)
        recomputed = entry_hash(seq=entry.seq, tenant=entry.tenant, kind=entry.kind, actor=entry.actor,
                                recorded_at=entry.recorded_at, payload_digest=digest,
                                prev_hash=entry.prev_hash)
        linked = self.previous.get(entry.seq, entry.prev_hash) == entry.prev_hash
        return HashCheck(f"ledger entry #{entry.seq} ({entry.kind})", entry.entry_hash,
                         recomputed if digest == entry.payload_digest and linked else
                         f"{recomputed} (payload digest {digest}, linked {linked})")

    def inputs_for(self, proposal: Proposal, payload: dict[str, Any]) -> LedgerEntry | None:
        by_digest = [e for e in self.inputs if e.payload.get("inputs_digest") == proposal.inputs_digest]
        if by_digest:
            return by_digest[-1]
        named = [e for e in self.inputs if proposal.proposal_id in e.payload.get("proposal_ids", [])
                 and (e.payload.get("record") or {}).get("trace_id") == payload.get("trace_id")]
        return named[-1] if named else None


def _replay_entry(book: _TenantLedger, entry: LedgerEntry,
                  agents: Mapping[str, AgentFactory]) -> ReplayReport:
    proposal_id = str(entry.payload.get("proposal_id"))
    checks = [book.entry_check(entry)]
    problems: list[str] = []

    def report() -> ReplayReport:
        return ReplayReport(book.tenant, proposal_id, entry.seq, checks, problems)

    try:
        proposal = Proposal.model_validate(entry.payload)
    except ValidationError as exc:
        problems.append(f"the recorded proposal does not parse: {exc.error_count()} errors, first: "
                        f"{exc.errors()[0]['msg']}")
        checks.append(HashCheck("proposal payload", payload_digest(entry.payload), None))
        return report()
    if proposal.inputs_digest is None:
        problems.append("recorded without an inputs_digest (before decision records): nothing to replay from")
        return report()
    inputs_entry = book.inputs_for(proposal, entry.payload)
    if inputs_entry is None:
        problems.append(f"no {DECISION_INPUTS_KIND} entry records inputs {proposal.inputs_digest}")
        checks.append(HashCheck("inputs", proposal.inputs_digest, None))
        return report()
    checks.append(book.entry_check(inputs_entry))
    raw_record = inputs_entry.payload.get("record")
    recomputed = record_digest(raw_record) if isinstance(raw_record, dict) else None
    checks.append(HashCheck("inputs", proposal.inputs_digest, recomputed))

    if inputs_entry.seq not in book.replayed:
        book.replayed[inputs_entry.seq] = _rerun(raw_record, agents)
    replayed, why_not = book.replayed[inputs_entry.seq]
    problems += why_not
    again = next((p for p in replayed if p.proposal_id == proposal.proposal_id), None)
    if again is None:
        if not why_not:
            problems.append("replaying the recorded inputs does not produce this proposal")
        checks.append(HashCheck("proposal payload", payload_digest(entry.payload), None))
        return report()
    replayed_payload = again.model_dump(mode="json")
    checks.append(HashCheck("proposal payload", payload_digest(entry.payload),
                            payload_digest(replayed_payload)))
    problems += [f"field {name!r} differs: recorded {entry.payload.get(name)!r}, replayed {value!r}"
                 for name, value in replayed_payload.items() if entry.payload.get(name) != value]
    return report()


def _rerun(raw_record: Any, agents: Mapping[str, AgentFactory]) -> tuple[list[Proposal], list[str]]:
    try:
        record = DecisionRecord.model_validate(raw_record)
    except ValidationError as exc:
        return [], [f"the recorded decision inputs do not parse: {exc.errors()[0]['msg']}"]
    factory = agents.get(record.agent)
    if factory is None:
        known = ", ".join(sorted(agents)) or "none"
        return [], [f"no replay factory for agent {record.agent!r} (known: {known}); pass agents="]
    try:
        results = factory(record).replay(record)
    except ValueError as exc:
        return [], [f"cannot replay with {record.agent} {record.agent_version}: {exc}"]
    return [r for r in results if isinstance(r, Proposal)], []


def replay_proposal(ledger: Ledger, tenant: str, proposal_id: str,
                    agents: Mapping[str, AgentFactory] | None = None) -> ReplayReport:
    """Replay the newest recorded creation of ``proposal_id``."""
    book = _TenantLedger(ledger, tenant)
    created = [e for e in book.entries
               if e.kind == "proposal.created" and e.payload.get("proposal_id") == proposal_id]
    if not created:
        return ReplayReport(tenant, proposal_id, None,
                            problems=[f"tenant {tenant} has no proposal.created entry for {proposal_id}"])
    return _replay_entry(book, created[-1], DEFAULT_AGENTS if agents is None else agents)


def replay_all(ledger: Ledger, tenant: str,
               agents: Mapping[str, AgentFactory] | None = None) -> ReplaySummary:
    """Replay every proposal.created entry of ``tenant``, one agent run per recorded decision."""
    book = _TenantLedger(ledger, tenant)
    factories = DEFAULT_AGENTS if agents is None else agents
    return ReplaySummary(tenant, [_replay_entry(book, e, factories)
                                  for e in book.entries if e.kind == "proposal.created"])
