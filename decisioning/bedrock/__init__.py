"""The Bedrock decision agent (Converse + tool use over the read-tool plane)."""

from decisioning.bedrock.agent import AGENT_PRINCIPAL, BedrockAgent
from decisioning.bedrock.config import BedrockAgentConfig, ModelPrice
from decisioning.bedrock.transcript import BedrockAgentError, BedrockUnavailableError, ReplayDivergedError

__all__ = ["AGENT_PRINCIPAL", "BedrockAgent", "BedrockAgentConfig", "BedrockAgentError",
           "BedrockUnavailableError", "ModelPrice", "ReplayDivergedError"]
