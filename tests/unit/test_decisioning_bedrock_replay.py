"""Replay: the recorded Converse responses and tool results rebuild the same proposals, with no model."""

from __future__ import annotations

from pathlib import Path

import pytest

from decisioning.agent import DecisionRecord
from decisioning.bedrock import BedrockAgent, ReplayDivergedError
from decisioning.replay import DEFAULT_AGENTS, replay_all
from decisioning.stage import decision_entries
from ledger.sql import sqlite_url
from ledger.store import Ledger
from tests.unit.test_decisioning_bedrock_fixtures import (
    LARGE_MODEL,
    expect,
    make_agent,
    response,
    signal,
    stubbed,
    submission,
    text,
    tool_use,
)
from tests.unit.test_decisioning_fixtures import make_context


def decided() -> tuple[BedrockAgent, object]:
    with stubbed() as (client, stubber):
        expect(stubber, response(text("Checking usage."), tool_use("telemetry__get_health_summary",
                                                                   {"account_id": "acc_1"})))
        expect(stubber, response(tool_use("submit_proposal", {"action_type": "nope"})))
        expect(stubber, response(tool_use("abstain", {"reason": "Unsure.", "uncertain": True})))
        expect(stubber, response(tool_use("submit_proposal", submission())), model=LARGE_MODEL)
        agent, _ = make_agent(client)
        return agent, agent.deliberate([signal()], make_context(), [], trace_id="t-replay")


def test_replay_rebuilds_the_same_results_from_the_record_alone() -> None:
    _, deliberation = decided()
    # as the ledger holds it: JSON
    record = DecisionRecord.model_validate(deliberation.record.model_dump(mode="json"))

    replayed = BedrockAgent.for_replay(record).replay(record)

    assert [r.model_dump(mode="json") for r in replayed] == \
        [r.model_dump(mode="json") for r in deliberation.results]


def test_a_tampered_transcript_does_not_replay() -> None:
    _, deliberation = decided()
    payload = deliberation.record.model_dump(mode="json")
    tool = next(e for e in payload["model_outputs"] if e["event"] == "tool")
    tool["name"] = "memory__search"

    with pytest.raises(ReplayDivergedError, match="replay called telemetry__get_health_summary"):
        BedrockAgent.for_replay(DecisionRecord.model_validate(payload)).replay(
            DecisionRecord.model_validate(payload))


def test_replay_from_the_ledger_matches_hash_for_hash(tmp_path: Path) -> None:
    _, deliberation = decided()
    ledger = Ledger(sqlite_url(tmp_path / "ledger.sqlite"))
    ledger.append_many(decision_entries(deliberation))

    summary = replay_all(ledger, "acme", agents={**DEFAULT_AGENTS, "bedrock": BedrockAgent.for_replay})

    assert summary.ok and summary.count("match") == 1, summary.describe()
