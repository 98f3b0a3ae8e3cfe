"""Budgets (tokens, cost, iterations) and Bedrock's errors (throttling, access) at the boto3 edge."""

from __future__ import annotations

import pytest

from decisioning.bedrock import BedrockAgentConfig, BedrockAgentError, BedrockUnavailableError
from decisioning.contracts import Abstention, Proposal
from tests.unit.test_decisioning_bedrock_fixtures import (
    SMALL_MODEL,
    expect,
    make_agent,
    response,
    signal,
    stubbed,
    submission,
    tool_use,
)
from tests.unit.test_decisioning_fixtures import make_context

READ = tool_use("signals__list_recent", {"account_id": "acc_1"})


def test_the_token_budget_stops_the_conversation_and_the_agent_abstains() -> None:
    with stubbed() as (client, stubber):
        expect(stubber, response(READ, tokens=(1_500, 200)))
        agent, _ = make_agent(client, max_total_tokens=1_000)
        deliberation = agent.deliberate([signal()], make_context(), [])

    (abstention,) = deliberation.results
    assert isinstance(abstention, Abstention)
    assert abstention.reason == "no decision: token budget exhausted (1700 of 1000 tokens used)"
    route = deliberation.record.model_outputs[-1]
    assert route["budget"] == {"input_tokens": 1500, "output_tokens": 200, "cost_usd": 0.000138}


def test_the_cost_budget_uses_the_price_table() -> None:
    with stubbed() as (client, stubber):
        expect(stubber, response(READ, tokens=(10_000, 1_000)))  # nova-lite: 0.0006 + 0.00024 USD
        agent, _ = make_agent(client, max_cost_usd=0.0008)
        (abstention,) = agent.decide([signal()], make_context(), [])

    assert isinstance(abstention, Abstention) and "cost budget exhausted ($0.0008" in abstention.reason


def test_each_call_asks_for_no_more_output_than_the_budget_has_left() -> None:
    with stubbed() as (client, stubber):
        expect(stubber, response(READ, tokens=(1_000, 100)))
        expect(stubber, response(tool_use("submit_proposal", submission())))
        agent, _ = make_agent(client, max_total_tokens=1_500, max_output_tokens=2_048)
        agent.decide([signal()], make_context(), [])

    assert [r["inferenceConfig"]["maxTokens"] for r in client.requests] == [1_500, 400]


def test_the_iteration_limit_ends_a_model_that_only_reads() -> None:
    with stubbed() as (client, stubber):
        for _ in range(2):
            expect(stubber, response(READ))
        agent, _ = make_agent(client, max_iterations=2)
        (abstention,) = agent.decide([signal()], make_context(), [])

    assert isinstance(abstention, Abstention)
    assert abstention.reason == "no decision: no answer within 2 model calls"


def test_throttling_is_retried_with_backoff_then_succeeds() -> None:
    with stubbed() as (client, stubber):
        stubber.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
        expect(stubber, response(tool_use("submit_proposal", submission())))
        agent, (_, sleeps) = make_agent(client)
        deliberation = agent.deliberate([signal()], make_context(), [])

    assert isinstance(deliberation.results[0], Proposal) and sleeps == [1.0]
    assert deliberation.record.model_outputs[0]["event"] == "converse_error"


def test_persistent_throttling_fails_the_decision_so_its_signals_stay_unprocessed() -> None:
    with stubbed() as (client, stubber):
        for _ in range(3):
            stubber.add_client_error("converse", service_error_code="ThrottlingException",
                                     http_status_code=429)
        agent, (_, sleeps) = make_agent(client, throttle_retries=2)
        with pytest.raises(BedrockUnavailableError, match="still ThrottlingException after 3 attempts"):
            agent.decide([signal()], make_context(), [])

    assert sleeps == [1.0, 2.0]


def test_access_denied_is_not_retried_and_says_what_to_check() -> None:
    with stubbed() as (client, stubber):
        stubber.add_client_error("converse", service_error_code="AccessDeniedException", http_status_code=403,
                                 service_message="You don't have access to the model")
        agent, (_, sleeps) = make_agent(client)
        with pytest.raises(BedrockAgentError, match="model access is granted") as raised:
            agent.decide([signal()], make_context(), [])

    assert not isinstance(raised.value, BedrockUnavailableError) and sleeps == []


def test_a_model_without_a_price_is_refused_at_configuration() -> None:
    with pytest.raises(ValueError, match="no price for model"):
        BedrockAgentConfig(models=["meta.llama3-70b-instruct-v1:0"])
    assert BedrockAgentConfig().models[0] == SMALL_MODEL
