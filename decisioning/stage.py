"""The decisioning stage as the loop runs it: new signals -> the agent's proposals (or abstentions),
per account, with the account's graph context and memory as evidence.

Per account decision the ledger gets, in one transaction: a ``decision.inputs`` entry holding the
agent's DecisionRecord (everything needed to rebuild the decision, decisioning/replay.py), then a
``proposal.created`` per proposal and an ``agent.abstained`` per abstention."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from decisioning.agent import DECISION_INPUTS_KIND, DecisionAgent, Deliberation
from decisioning.contracts import Abstention, Proposal
from ledger.store import Ledger, NewEntry
from perception.contracts import Signal
from perception.signal_store import SignalStore
from world_model.graph import SituationGraph
from world_model.memory import SemanticMemory

AGENT_STAGE = "agent"
MEMORY_HITS_PER_ACCOUNT = 3


@dataclass(frozen=True)
class ProposeOutcome:
    proposals: list[Proposal] = field(default_factory=list)
    abstentions: list[Abstention] = field(default_factory=list)


def trace_id_for(signals: list[Signal]) -> str:
    """The signals' own trace id when they all share one (a webhook request's), else a new one."""
    carried = {getattr(signal, "trace_id", None) for signal in signals}
    if len(carried) == 1 and (shared := carried.pop()):
        return str(shared)
    return uuid.uuid4().hex


def decision_entries(deliberation: Deliberation) -> list[NewEntry]:
    """The ledger entries of one decision: its inputs first, then what came of them."""
    record = deliberation.record
    actor = f"agent:{record.agent}"
    inputs: dict[str, Any] = {
        "inputs_digest": record.inputs_digest,
        "record": record.model_dump(mode="json"),
        "proposal_ids": [p.proposal_id for p in deliberation.proposals],
        "abstentions": len(deliberation.abstentions),
    }
    entries = [NewEntry(record.tenant, DECISION_INPUTS_KIND, actor, inputs)]
    entries += [NewEntry(record.tenant, "proposal.created", actor, p.model_dump(mode="json"))
                for p in deliberation.proposals]
    entries += [NewEntry(record.tenant, "agent.abstained", actor, a.model_dump(mode="json"))
                for a in deliberation.abstentions]
    return entries


def propose_for_new_signals(agent: DecisionAgent, graph: SituationGraph, memory: SemanticMemory,
                            signal_store: SignalStore, ledger: Ledger, tenant: str) -> ProposeOutcome:
    pending = signal_store.unprocessed(AGENT_STAGE, tenant)
    by_account: dict[str, list[Signal]] = defaultdict(list)
    for signal in pending:
        by_account[signal.account_id].append(signal)
    outcome = ProposeOutcome()
    for account_id, signals in sorted(by_account.items()):
        context = graph.account_context(tenant, account_id)
        query = " ".join(s.narrative for s in signals)
        # Memory holds these signals already; recall what else is known about the account.
        own = {s.signal_id for s in signals}
        hits = [h for h in memory.search(tenant, query, k=MEMORY_HITS_PER_ACCOUNT + len(own),
                                         account_id=account_id) if h.doc_id not in own]
        deliberation = agent.deliberate(signals, context, hits[:MEMORY_HITS_PER_ACCOUNT],
                                        trace_id=trace_id_for(signals))
        outcome.proposals.extend(deliberation.proposals)
        outcome.abstentions.extend(deliberation.abstentions)
        ledger.append_many(decision_entries(deliberation))
        signal_store.mark_processed(AGENT_STAGE, [s.signal_id for s in signals])
    return outcome
