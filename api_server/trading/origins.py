"""Who asked for an order (its origin), recorded with orders, approvals and risk refusals."""

from __future__ import annotations

MANUAL = "manual"
AGENT = "agent"


def origin_of(run_id: str | None) -> str:
    """An order with a strategy run id comes from the agent; without one from a person."""
    return AGENT if run_id else MANUAL
