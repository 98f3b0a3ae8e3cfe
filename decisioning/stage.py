"""The decisioning stage as the loop runs it: new signals -> the agent's proposals (or abstentions),
per account, with the account's graph context and memory as evidence. Every outcome is ledgered."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from decisioning.contracts import Abstention, Proposal
from decisioning.playbook import PlaybookAgent
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


def propose_for_new_signals(agent: PlaybookAgent, graph: SituationGraph, memory: SemanticMemory,
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
        trace_id = uuid.uuid4().hex
        results = agent.decide(signals, context, hits[:MEMORY_HITS_PER_ACCOUNT], trace_id=trace_id)
        entries = []
        for result in results:
            if isinstance(result, Proposal):
                outcome.proposals.append(result)
                entries.append(NewEntry(tenant, "proposal.created", f"agent:{agent.name}",
                                        result.model_dump(mode="json")))
            else:
                outcome.abstentions.append(result)
                entries.append(NewEntry(tenant, "agent.abstained", f"agent:{agent.name}",
                                        {**result.model_dump(mode="json"), "trace_id": trace_id}))
        ledger.append_many(entries)
        signal_store.mark_processed(AGENT_STAGE, [s.signal_id for s in signals])
    return outcome
