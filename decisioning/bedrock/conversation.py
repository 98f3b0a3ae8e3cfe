"""One model's conversation about one account: Converse turns, read-tool calls, answer validation.

The loop talks to two ports, so the same code runs live (boto3 + the tool session) and in replay (the
recorded transcript): ``converse(request) -> response`` and ``run_tool(tool_use_id, name, input) ->
ToolOutcome``. It never raises on what a model sends: bad answers go back as toolResult errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from decisioning.bedrock.config import BedrockAgentConfig
from decisioning.bedrock.submission import (
    ABSTAIN,
    SUBMIT_PROPOSAL,
    AbstainRequest,
    AcceptedSubmission,
    KnownEvidence,
    SubmissionError,
    check_submission,
    parse_input,
)

NUDGE = ("Answer only by calling submit_proposal (once per action) or abstain; a text answer is not "
         "accepted.")


@dataclass(frozen=True)
class ToolOutcome:
    tool: str | None  # the registered (dotted) name; None when no such tool exists
    status: str  # ToolCallStatus value
    content: dict[str, Any]


@dataclass
class Budget:
    config: BedrockAgentConfig
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def charge(self, model: str, usage: dict[str, Any]) -> None:
        spent_in, spent_out = int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0))
        self.input_tokens += spent_in
        self.output_tokens += spent_out
        self.cost_usd += self.config.prices[model].cost(spent_in, spent_out)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def exhausted(self) -> str | None:
        if self.tokens >= self.config.max_total_tokens:
            return f"token budget exhausted ({self.tokens} of {self.config.max_total_tokens} tokens used)"
        if self.cost_usd >= self.config.max_cost_usd:
            return f"cost budget exhausted (${self.cost_usd:.4f} of ${self.config.max_cost_usd:.4f})"
        return None

    def summary(self) -> dict[str, Any]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "cost_usd": round(self.cost_usd, 6)}


@dataclass
class RouteResult:
    """How one model's conversation ended. ``escalate``: a larger model should try; ``stop``: no one
    should (budget, iteration limit); ``done``: the model answered."""

    model: str
    ending: Literal["done", "escalate", "stop"] = "stop"
    reason: str = ""
    accepted: list[AcceptedSubmission] = field(default_factory=list)
    abstained: AbstainRequest | None = None


Converse = Callable[[dict[str, Any]], dict[str, Any]]
RunTool = Callable[[str, str, Any], ToolOutcome]


def _result(use_id: str, content: dict[str, Any], ok: bool) -> dict[str, Any]:
    return {"toolResult": {"toolUseId": use_id, "content": [{"json": content}],
                           "status": "success" if ok else "error"}}


class Conversation:
    def __init__(self, model: str, config: BedrockAgentConfig, request_base: dict[str, Any],
                 first_message: str, known: KnownEvidence, budget: Budget, converse: Converse,
                 run_tool: RunTool, is_last_model: bool, proposal_key: Callable[[AcceptedSubmission], str]
                 ) -> None:
        self.model, self.config, self.request_base = model, config, request_base
        self.known, self.budget, self.converse, self.run_tool = known, budget, converse, run_tool
        self.is_last_model, self.proposal_key = is_last_model, proposal_key
        self.messages: list[dict[str, Any]] = [{"role": "user", "content": [{"text": first_message}]}]
        self.result = RouteResult(model)
        self.invalid: list[str] = []

    def run(self) -> RouteResult:
        for _ in range(self.config.max_iterations):
            if why := self.budget.exhausted():
                return self._end("stop", why)
            remaining = self.config.max_total_tokens - self.budget.tokens
            response = self.converse({**self.request_base, "modelId": self.model, "messages": self.messages,
                                      "inferenceConfig": {"maxTokens": min(self.config.max_output_tokens,
                                                                           remaining),
                                                          "temperature": self.config.temperature}})
            self.budget.charge(self.model, response.get("usage") or {})
            ended = self._turn(response)
            if ended is not None:
                return ended
        if self.result.accepted:
            return self._end("done", f"iteration limit ({self.config.max_iterations}) reached after "
                                     "proposing")
        return self._end("stop", f"no answer within {self.config.max_iterations} model calls")

    def _end(self, ending: Literal["done", "escalate", "stop"], reason: str) -> RouteResult:
        self.result.ending, self.result.reason = ending, reason
        return self.result

    def _invalid(self, problem: str) -> RouteResult | None:
        self.invalid.append(problem)
        if len(self.invalid) > self.config.max_invalid_outputs:
            return self._end("escalate", f"{self.model} gave {len(self.invalid)} invalid answers; last: "
                                         f"{problem}")
        return None

    def _turn(self, response: dict[str, Any]) -> RouteResult | None:
        message = (response.get("output") or {}).get("message")
        if not isinstance(message, dict) or not isinstance(message.get("content"), list):
            return self._invalid(f"the response has no message (stopReason {response.get('stopReason')})")
        self.messages.append({"role": "assistant", "content": message["content"]})
        uses = [block["toolUse"] for block in message["content"]
                if isinstance(block, dict) and isinstance(block.get("toolUse"), dict)]
        if not uses:
            if self.result.accepted:
                return self._end("done", "the model finished proposing")
            self.messages.append({"role": "user", "content": [{"text": NUDGE}]})
            stop_reason = response.get("stopReason")
            return self._invalid(f"a text answer without a tool call (stopReason {stop_reason})")
        results, read_calls, submitted, turn_problems = [], 0, 0, 0
        for use in uses:
            use_id, name, raw = str(use.get("toolUseId", "")), str(use.get("name", "")), use.get("input")
            if name == SUBMIT_PROPOSAL:
                submitted += 1
                content, ok = self._submit(raw)
            elif name == ABSTAIN:
                content, ok = self._abstain(raw)
            else:
                outcome = self.run_tool(use_id, name, raw)
                content, ok = outcome.content, outcome.status == "ok"
                if outcome.status == "unknown_tool":
                    self.invalid.append(f"called {name!r}, which is not one of its tools")
                else:
                    read_calls += 1
                if ok and outcome.tool:
                    self.known.learn(outcome.tool, content)
            turn_problems += 0 if ok else 1
            results.append(_result(use_id, content, ok))
        self.messages.append({"role": "user", "content": results})
        if (abstained := self.result.abstained) is not None:
            if abstained.uncertain and not self.is_last_model:
                return self._end("escalate", f"{self.model} abstained as uncertain: {abstained.reason}")
            return self._end("done", "the model abstained")
        if len(self.invalid) > self.config.max_invalid_outputs:
            return self._end("escalate", f"{self.model} gave {len(self.invalid)} invalid answers; last: "
                                         f"{self.invalid[-1]}")
        if submitted and not turn_problems and not read_calls:
            return self._end("done", "the model submitted its proposals")
        return None

    def _submit(self, raw: Any) -> tuple[dict[str, Any], bool]:
        try:
            accepted = check_submission(raw, self.known)
        except SubmissionError as exc:
            self.invalid.append("invalid proposal: " + "; ".join(exc.problems))
            return {"accepted": False, "problems": exc.problems,
                    "fix": "correct these and call submit_proposal again"}, False
        key = self.proposal_key(accepted)
        if any(self.proposal_key(a) == key for a in self.result.accepted):
            problem = (f"a {accepted.submission.action_type.value} proposal on these signals was already "
                       "accepted: merge them into one")
            self.invalid.append(problem)
            return {"accepted": False, "problems": [problem]}, False
        if len(self.result.accepted) >= self.config.max_proposals:
            return {"accepted": False, "problems": [f"at most {self.config.max_proposals} proposals per "
                                                    "account: stop proposing"]}, False
        self.result.accepted.append(accepted)
        return {"accepted": True, "proposal_id": key, "risk_tier": accepted.risk_tier.value,
                "note": "policy and, where required, a human decide whether it runs"}, True

    def _abstain(self, raw: Any) -> tuple[dict[str, Any], bool]:
        try:
            request = AbstainRequest.model_validate(parse_input(raw))
        except (SubmissionError, ValidationError) as exc:
            self.invalid.append(f"invalid abstain: {exc}")
            return {"accepted": False, "problems": [str(exc)]}, False
        self.result.abstained = request
        return {"accepted": True}, True
