"""The model side of the agent: one streamed call (`client`), the tool loop (`loop`), prices (`pricing`),
providers (`providers`) and the stream assembler (`stream`)."""

from agent.llm.client import LlmError, LoopLimits, ModelClient
from agent.llm.loop import LoopResult, LoopState, ToolCallRecord, ToolExecution, ToolLoop, parse_arguments
from agent.llm.pricing import ModelPrice, PriceTable, cost_usd
from agent.llm.stream import StreamAssembler, Usage, usage_from_response

__all__ = [
    "LlmError",
    "LoopLimits",
    "ModelClient",
    "LoopResult",
    "LoopState",
    "ToolCallRecord",
    "ToolExecution",
    "ToolLoop",
    "parse_arguments",
    "ModelPrice",
    "PriceTable",
    "cost_usd",
    "StreamAssembler",
    "Usage",
    "usage_from_response",
]
