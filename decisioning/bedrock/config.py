"""How the Bedrock agent is configured: model routes, budgets and the price table its cost budget uses."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# On-demand prices in USD per 1,000 tokens (us-east-1, as published by AWS; check before relying on them).
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "amazon.nova-micro-v1:0": (0.000035, 0.00014),
    "amazon.nova-lite-v1:0": (0.00006, 0.00024),
    "amazon.nova-pro-v1:0": (0.0008, 0.0032),
    "anthropic.claude-3-5-haiku-20241022-v1:0": (0.0008, 0.004),
    "anthropic.claude-3-5-sonnet-20241022-v2:0": (0.003, 0.015),
}
SMALL_MODEL = "amazon.nova-lite-v1:0"
LARGE_MODEL = "amazon.nova-pro-v1:0"


class ModelPrice(BaseModel):
    model_config = ConfigDict(frozen=True)

    input_per_1k: float = Field(ge=0)
    output_per_1k: float = Field(ge=0)

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return input_tokens / 1000 * self.input_per_1k + output_tokens / 1000 * self.output_per_1k


def default_prices() -> dict[str, ModelPrice]:
    return {model: ModelPrice(input_per_1k=i, output_per_1k=o) for model, (i, o) in DEFAULT_PRICES.items()}


class BedrockAgentConfig(BaseModel):
    """Everything the agent is built with; recorded with each decision (``agent_config``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Tried in order: the next model takes over when one fails validation or abstains as uncertain.
    models: list[str] = Field(default_factory=lambda: [SMALL_MODEL, LARGE_MODEL], min_length=1, max_length=4)
    prompt_version: str = "bedrock_agent.v1"
    max_iterations: int = Field(6, ge=1, le=30, description="Converse calls per model, at most.")
    max_invalid_outputs: int = Field(2, ge=0, le=10, description=(
        "Invalid submissions (or text-only answers, calls to unlisted tools) sent back for correction "
        "before the model is given up on."))
    max_total_tokens: int = Field(60_000, ge=1_000, description="Input + output tokens per decision.")
    max_cost_usd: float = Field(0.05, gt=0, description="Model spend per decision, from the price table.")
    max_output_tokens: int = Field(2_048, ge=64, le=32_000, description="maxTokens of each Converse call.")
    temperature: float = Field(0.0, ge=0, le=1)
    tool_choice: Literal["auto", "any"] = "auto"
    max_proposals: int = Field(5, ge=1, le=20, description="Proposals kept per account and decision.")
    throttle_retries: int = Field(2, ge=0, le=10, description=(
        "Retries of a throttled or unavailable Converse call (on top of botocore's own), then the "
        "decision fails with BedrockUnavailableError and its signals stay unprocessed."))
    prices: dict[str, ModelPrice] = Field(default_factory=default_prices)

    @model_validator(mode="after")
    def _priced(self) -> BedrockAgentConfig:
        unpriced = [m for m in self.models if m not in self.prices]
        if unpriced:
            raise ValueError(f"no price for model(s) {unpriced}: add them to prices (USD per 1,000 input and "
                             "output tokens) so the cost budget can be enforced")
        return self

    def recorded(self) -> dict[str, object]:
        """The config as recorded in a DecisionRecord: only the prices of the models in use."""
        data = self.model_dump(mode="json")
        data["prices"] = {m: data["prices"][m] for m in self.models}
        return data
