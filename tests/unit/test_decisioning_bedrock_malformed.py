"""Malformed model output at the boto3 edge: sent back as a toolResult error, retried a bounded number of
times, then the larger model, then an abstention with the reason. Nothing malformed becomes a proposal."""

from __future__ import annotations

import json
from typing import Any

from decisioning.contracts import Abstention, Proposal
from tests.unit.test_decisioning_bedrock_fixtures import (
    LARGE_MODEL,
    SMALL_MODEL,
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

WRITES = {"add_new", "record_signals", "upsert", "write"}


def last_tool_result(request: dict[str, Any]) -> dict[str, Any]:
    return request["messages"][-1]["content"][0]["toolResult"]


def test_a_text_only_answer_is_nudged_back_to_the_answer_tools() -> None:
    with stubbed() as (client, stubber):
        expect(stubber, response(text("I think the owner should be told.")))
        expect(stubber, response(tool_use("submit_proposal", submission())))
        agent, _ = make_agent(client)
        (proposal,) = agent.decide([signal()], make_context(), [])

    assert isinstance(proposal, Proposal)
    nudge = client.requests[1]["messages"][-1]
    assert nudge["role"] == "user" and "submit_proposal" in nudge["content"][0]["text"]


def test_invalid_json_in_tool_input_comes_back_as_an_error_and_is_retried() -> None:
    with stubbed() as (client, stubber):
        expect(stubber, response(tool_use("submit_proposal", '{"action_type": "notify.owner", "argum')))
        expect(stubber, response(tool_use("submit_proposal", submission())))
        agent, _ = make_agent(client)
        (proposal,) = agent.decide([signal()], make_context(), [])

    assert isinstance(proposal, Proposal)
    error = last_tool_result(client.requests[1])
    assert error["status"] == "error" and "not valid JSON" in error["content"][0]["json"]["problems"][0]


def test_a_json_object_sent_as_a_string_is_accepted() -> None:
    with stubbed() as (client, stubber):
        expect(stubber, response(tool_use("submit_proposal", json.dumps(submission()))))
        agent, _ = make_agent(client)
        (proposal,) = agent.decide([signal()], make_context(), [])

    assert isinstance(proposal, Proposal)


def test_a_wrong_action_type_exhausts_the_small_model_then_the_large_one_answers() -> None:
    wrong = submission(action_type="crm.delete_account", arguments={"record_id": "acc_1"})
    with stubbed() as (client, stubber):
        for _ in range(3):  # max_invalid_outputs=2: the third invalid answer gives the small model up
            expect(stubber, response(tool_use("submit_proposal", wrong)))
        expect(stubber, response(tool_use("submit_proposal", submission())), model=LARGE_MODEL)
        agent, _ = make_agent(client)
        deliberation = agent.deliberate([signal()], make_context(), [])

    (proposal,) = deliberation.results
    assert isinstance(proposal, Proposal) and proposal.model == LARGE_MODEL
    problems = last_tool_result(client.requests[1])["content"][0]["json"]["problems"]
    assert any("action_type" in p for p in problems)
    assert client.requests[3]["messages"][0] == client.requests[0]["messages"][0]  # a fresh conversation


def test_when_every_model_fails_validation_the_agent_abstains_with_the_reason() -> None:
    wrong = submission(arguments={"channel": "owner", "recipient": "not-an-email", "subject": "x",
                                  "message": "y"})
    with stubbed() as (client, stubber):
        for model in (SMALL_MODEL, LARGE_MODEL):
            for _ in range(3):
                expect(stubber, response(tool_use("submit_proposal", wrong)), model=model)
        agent, _ = make_agent(client)
        (abstention,) = agent.decide([signal()], make_context(), [])

    assert isinstance(abstention, Abstention)
    assert abstention.reason.startswith("no valid answer from any model:")
    assert "recipient" in abstention.reason


def test_missing_or_invented_citations_are_refused() -> None:
    path = "Account:acc_1 -> WORKS_AT -> Contact:con_7"
    uncited = submission(evidence=[{"kind": "graph_path", "ref": path}])
    invented = submission(evidence=[{"kind": "signal", "ref": signal().signal_id},
                                    {"kind": "memory_hit", "ref": "mem_made_up"}])
    with stubbed() as (client, stubber):
        expect(stubber, response(tool_use("submit_proposal", uncited)))
        expect(stubber, response(tool_use("submit_proposal", invented)))
        expect(stubber, response(tool_use("submit_proposal", submission())))
        agent, _ = make_agent(client)
        (proposal,) = agent.decide([signal()], make_context(), [])

    assert isinstance(proposal, Proposal)
    first = last_tool_result(client.requests[1])["content"][0]["json"]["problems"]
    second = last_tool_result(client.requests[2])["content"][0]["json"]["problems"]
    assert any("at least one signal_id" in p for p in first)
    assert any("'mem_made_up', which was not in the situation" in p for p in second)


def test_a_call_to_an_unlisted_tool_is_refused_recorded_and_runs_nothing() -> None:
    with stubbed() as (client, stubber):
        expect(stubber, response(tool_use("crm__update_field", {"record_id": "opp_3", "field": "stage",
                                                                "value": "closed_won"})))
        expect(stubber, response(tool_use("submit_proposal", submission())))
        agent, (fakes, _) = make_agent(client)
        deliberation = agent.deliberate([signal()], make_context(), [])

    assert isinstance(deliberation.results[0], Proposal)
    refused = last_tool_result(client.requests[1])
    assert refused["status"] == "error" and refused["content"][0]["json"]["error"]["code"] == "unknown_tool"
    (call,) = [e["call"] for e in deliberation.record.model_outputs if e["event"] == "tool"]
    assert call["status"] == "unknown_tool" and call["tool"] == "crm__update_field"
    assert not {name for fake in fakes for name in fake.touched} & WRITES


def test_a_malformed_tool_use_stop_with_no_content_counts_as_invalid() -> None:
    broken = response(stop="malformed_tool_use")
    with stubbed() as (client, stubber):
        expect(stubber, broken)
        expect(stubber, response(tool_use("submit_proposal", submission())))
        agent, _ = make_agent(client)
        (proposal,) = agent.decide([signal()], make_context(), [])

    assert isinstance(proposal, Proposal)


def test_the_same_action_on_the_same_signals_twice_is_refused_as_a_duplicate() -> None:
    with stubbed() as (client, stubber):
        expect(stubber, response(tool_use("submit_proposal", submission()), tool_use("submit_proposal",
                                                                                      submission())))
        expect(stubber, response(text("Done.")))
        agent, _ = make_agent(client)
        results = agent.decide([signal()], make_context(), [])

    assert [type(r) for r in results] == [Proposal]
    duplicate = client.requests[1]["messages"][-1]["content"][1]["toolResult"]
    assert duplicate["status"] == "error"
    assert "already accepted" in duplicate["content"][0]["json"]["problems"][0]


def test_only_people_of_the_account_may_be_named() -> None:
    elsewhere = submission(arguments={"channel": "owner", "recipient": "leaks@evil.example", "subject": "x",
                                      "message": "y"})
    stranger = submission(action_type="crm.create_task", arguments={"subject": "Call", "due_in_days": 1,
                                                                    "owner": "mallory@evil.example"})
    contact = submission(action_type="crm.create_task", arguments={"subject": "Call", "due_in_days": 1,
                                                                   "owner": "con_8"})
    with stubbed() as (client, stubber):
        expect(stubber, response(tool_use("submit_proposal", elsewhere),
                                 tool_use("submit_proposal", stranger)))
        expect(stubber, response(tool_use("submit_proposal", contact)))
        agent, _ = make_agent(client)
        (proposal,) = agent.decide([signal()], make_context(), [])

    assert isinstance(proposal, Proposal) and proposal.arguments["owner"] == "con_8"
    results = [block["toolResult"]["content"][0]["json"]["problems"]
               for block in client.requests[1]["messages"][-1]["content"]]
    assert results[0] == ["notify.owner goes to the account owner ana@acme.example only"]
    assert "'mallory@evil.example' is not a person of this account" in results[1][0]
