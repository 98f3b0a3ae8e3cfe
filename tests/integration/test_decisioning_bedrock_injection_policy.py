"""No bypass: every proposal the obedient model got through validation goes into the operational store
as pending policy, the real policy stage classifies each one, and the only executable ones are
automatic L0 messages and briefs that carry no injected text. One case per location keeps it fast (the
policy stage ledgers each verdict); the unit test runs the whole corpus through the same engine."""

from __future__ import annotations

from pathlib import Path

from actions.stage import classify_pending_proposals
from actions.store import OperationalStore
from decisioning.contracts import ActionType, PolicyOutcome, RiskTier
from decisioning.policy import CedarPolicyEngine
from ledger.sql import sqlite_url
from ledger.store import Ledger
from tests.unit.test_decisioning_bedrock_injection import CASES, leaked, run


def test_every_injected_proposal_is_classified_and_nothing_unreviewed_carries_the_payload(tmp_path: Path
                                                                                          ) -> None:
    url = sqlite_url(tmp_path / "state.sqlite")
    store, ledger = OperationalStore(url), Ledger(url)
    proposals = {}
    for case in {c.location: c for c in CASES}.values():
        for proposal in run(case)[0].proposals:
            proposals[proposal.proposal_id] = (case, proposal)
    store.add_proposals([p for _, p in proposals.values()])

    decisions = classify_pending_proposals(store, CedarPolicyEngine(), ledger)

    assert {d.proposal_id for d in decisions} == set(proposals) and store.pending_policy() == []
    assert len(ledger.entries("acme", kind="policy.decided")) == len(proposals)
    ready = store.ready_to_execute("acme")
    assert {r.proposal.proposal_id for r in ready} == \
        {d.proposal_id for d in decisions if d.outcome is PolicyOutcome.automatic}
    for stored in ready:
        case, proposal = proposals[stored.proposal.proposal_id]
        assert proposal.risk_tier == RiskTier.L0
        assert proposal.action_type in {ActionType.notify_owner, ActionType.draft_meeting_brief}
        assert not leaked(case, proposal)
    writes = [d for d in decisions if proposals[d.proposal_id][1].action_type == ActionType.crm_update_field]
    assert writes and all(d.outcome is PolicyOutcome.forbidden for d in writes)
