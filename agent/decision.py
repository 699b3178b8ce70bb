"""The structured decision every analysis ends in (CONTRACT §5 `analysis_result.decision`).

The model submits it through the `submit_decision` tool (validated here with Pydantic; a bad one goes
back to the model as a tool error naming the field). When a run ends without a valid one, the decision
is derived from what the run did, and its reason says so.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.llm import ToolExecution

DECISION_TOOL = "submit_decision"
Action = Literal["open_long", "open_short", "add", "reduce", "close", "hold", "no_trade"]


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Action
    instId: str = Field(pattern=r"^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}(-(SWAP|[0-9]{6}))?$")
    size: str | None = Field(None, description="contracts for SWAP (decimal string)")
    entry: str | None = None
    stop: str | None = None
    target: str | None = None
    invalidation: str | None = Field(None, max_length=500)
    confidence: int = Field(ge=0, le=100)
    reason: str = Field(min_length=1, max_length=1000)

    @field_validator("size", "entry", "stop", "target", mode="before")
    @classmethod
    def _decimal_string(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            try:
                if not Decimal(value).is_finite() or Decimal(value) < 0:
                    raise ValueError
            except (InvalidOperation, ValueError):
                raise ValueError(f"expected a non-negative decimal number as a string, got {value!r}") from None
        return value


def decision_tool_schema() -> dict[str, Any]:
    schema = Decision.model_json_schema()
    schema.pop("title", None)
    return {
        "type": "function",
        "function": {
            "name": DECISION_TOOL,
            "description": (
                "Record this analysis' decision (call it once, at the end, after any orders). action: open_long, "
                "open_short, add, reduce, close, hold (keep the position as it is) or no_trade (stay flat). "
                "size in contracts, entry/stop/target as prices (decimal strings, null when not applicable), "
                "invalidation: what would prove the idea wrong; confidence 0-100; reason: one or two sentences."
            ),
            "parameters": schema,
        },
    }


def check_decision(arguments: dict[str, Any], inst_id: str) -> tuple[ToolExecution, Decision | None]:
    """Validate a submit_decision call; the error text names the field so the model can fix it."""
    try:
        decision = Decision.model_validate(arguments)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())
        return ToolExecution(False, f"error: invalid decision: {problems}; call {DECISION_TOOL} again"), None
    if decision.instId != inst_id:
        return ToolExecution(False, f"error: invalid decision: instId: this analysis is for {inst_id}"), None
    return ToolExecution(True, json.dumps({"recorded": True}), decision.model_dump()), decision


def derived_decision(inst_id: str, orders: list[dict[str, Any]], confidence: int | None, why: str) -> Decision:
    """When the model gave no valid decision: what the run did (close / open / nothing), marked as derived."""
    action: Action = "no_trade"
    for order in orders:
        tool, side = order.get("tool"), order.get("side")
        if tool == "close_position" or order.get("reduceOnly"):
            action = "close"
        elif tool == "place_order" and side in ("buy", "sell"):
            action = "open_long" if side == "buy" else "open_short"
    return Decision(
        action=action,
        instId=inst_id,
        confidence=confidence if confidence is not None else 0,
        reason=f"derived by the agent: {why}"[:1000],
    )
