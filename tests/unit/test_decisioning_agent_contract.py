"""Proposal contract v2, the taxonomy table, the agent port and its decision record."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from decisioning.actions import ACTION_TAXONOMY, TAXONOMY_VERSION
from decisioning.agent import DecisionAgent, record_digest
from decisioning.contracts import PROPOSAL_SCHEMA_VERSION, ActionType, Proposal
from decisioning.playbook import PlaybookAgent
from decisioning.stage import decision_entries, trace_id_for
from perception.contracts import SignalKind
from tests.unit.test_decisioning_fixtures import (
    NOTIFY_ARGS,
    fixed_clock,
    make_context,
    make_hit,
    make_proposal,
)
from tests.unit.test_decisioning_playbook import signal_of

README = Path(__file__).resolve().parents[2] / "decisioning" / "README.md"


def v1_payload() -> dict[str, object]:
    payload = make_proposal(ActionType.notify_owner, NOTIFY_ARGS).model_dump(mode="json")
    for added in ("policy_version", "taxonomy_version", "inputs_digest"):
        payload.pop(added)
    return {**payload, "schema_version": 1}


def test_a_version_1_payload_from_an_old_ledger_reads_as_version_2() -> None:
    proposal = Proposal.model_validate(v1_payload())
    assert proposal.schema_version == PROPOSAL_SCHEMA_VERSION == 2
    assert (proposal.policy_version, proposal.taxonomy_version, proposal.inputs_digest) == (None, None, None)
    assert proposal.arguments_digest == make_proposal(ActionType.notify_owner, NOTIFY_ARGS).arguments_digest


def test_an_unknown_schema_version_is_refused_with_what_to_do() -> None:
    with pytest.raises(ValidationError, match="schema_version 3 is not readable.*upgrade revloop"):
        Proposal.model_validate({**v1_payload(), "schema_version": 3})


def test_the_readme_taxonomy_table_matches_the_code() -> None:
    text = README.read_text()
    assert f'`TAXONOMY_VERSION = "{TAXONOMY_VERSION}"`' in text
    rows = {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(
        r"^\| `([a-z_.]+)` \| [^|]*(?:\\\|[^|]*)*\| (L\d) \| (\w+) \|", text, re.MULTILINE)}
    assert set(rows) == {t.value for t in ActionType}
    for kind, spec in ACTION_TAXONOMY.items():
        assert rows[kind.value] == (spec.risk_floor.value, spec.executor), kind


def test_the_playbook_agent_implements_the_port_and_stamps_its_record() -> None:
    agent = PlaybookAgent(clock=fixed_clock)
    assert isinstance(agent, DecisionAgent)
    signals = [signal_of(SignalKind.champion_departed), signal_of(SignalKind.usage_drop),
               signal_of(SignalKind.expansion_intent)]
    deliberation = agent.deliberate(signals, make_context(), [make_hit()], trace_id="t-1")
    record = deliberation.record

    assert deliberation.proposals and deliberation.abstentions
    assert record.inputs_digest == record_digest(record.model_dump(mode="json"))
    assert {r.inputs_digest for r in deliberation.results} == {record.inputs_digest}
    assert {r.trace_id for r in deliberation.results} == {"t-1"}
    assert record.agent_config["playbooks"] == "default" and record.decided_at == fixed_clock()
    assert agent.replay(record) == deliberation.results


def test_a_changed_input_changes_the_digest() -> None:
    agent = PlaybookAgent(clock=fixed_clock)
    one = agent.deliberate([signal_of(SignalKind.deal_slipped)], make_context(), [make_hit()], trace_id="t")
    two = agent.deliberate([signal_of(SignalKind.deal_slipped)], make_context(), [make_hit(score=0.7)],
                           trace_id="t")
    assert one.record.inputs_digest != two.record.inputs_digest


def test_replay_refuses_another_agent_version_or_custom_plays() -> None:
    record = PlaybookAgent(clock=fixed_clock).deliberate(
        [signal_of(SignalKind.deal_slipped)], make_context(), [], trace_id="t").record
    with pytest.raises(ValueError, match="replay it with the release that made it"):
        PlaybookAgent().replay(record.model_copy(update={"agent_version": "0.9"}))
    with pytest.raises(ValueError, match="custom playbooks"):
        PlaybookAgent.from_config({**record.agent_config, "playbooks": "custom"})


def test_the_trace_id_comes_from_the_signals_when_they_share_one() -> None:
    plain = [signal_of(SignalKind.deal_slipped), signal_of(SignalKind.usage_drop)]
    traced = [s.model_copy(update={"trace_id": "req-7"}) for s in plain]
    assert trace_id_for(traced) == "req-7"
    mixed = [traced[0], plain[1]]
    assert trace_id_for(mixed) != "req-7" and len(trace_id_for(mixed)) == 32
    assert trace_id_for(plain) != trace_id_for(plain)


def test_a_decision_is_ledgered_inputs_first_then_its_outcomes() -> None:
    deliberation = PlaybookAgent(clock=fixed_clock).deliberate(
        [signal_of(SignalKind.champion_departed)], make_context(owner=None), [], trace_id="t")
    entries = decision_entries(deliberation)

    assert [e.kind for e in entries] == ["decision.inputs", "proposal.created", "agent.abstained"]
    inputs = entries[0].payload
    assert inputs["inputs_digest"] == record_digest(inputs["record"])
    assert inputs["proposal_ids"] == [deliberation.proposals[0].proposal_id] and inputs["abstentions"] == 1
    assert entries[2].payload["trace_id"] == "t" and {e.actor for e in entries} == {"agent:playbook"}
