"""/api/trade: orders, cancels and closes (manual and agent alike, all through the risk guard), the
risk state and its manual reset, refusals, and pending approvals of agent orders.

Answers: a new order 201 `{"order", "duplicate": false, "risk"}`; the same clOrdId again 200
`{"order", "duplicate": true}`; an agent order in approval mode 202 `{"status": "pending", "approvalId", ...}`;
a risk refusal 422 `{"status_code", "detail", "rule", "limit", "actual", "refusalId"}`.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import State

from api_server.account import queries as q
from api_server.account.service import AccountService, CancelBody, ClosePositionBody, OrderBody, Outcome, decode_body
from api_server.account.views import approval_out, refusal_out
from api_server.errors import BadRequest
from api_server.routes.account import parse_int

APPROVAL_STATUSES = ("pending", "approving", "approved", "rejected", "refused", "failed")


def service(state: State) -> AccountService:
    return state.account


def answer(outcome: Outcome) -> Response:
    return Response(content=outcome.body, status_code=outcome.status_code, media_type=MediaType.JSON)


class TradeController(Controller):
    path = "/api/trade"
    tags = ["trade"]

    @post("/order", summary="Place an order (market/limit; sz in contracts or notionalUsdt; TP/SL; clOrdId idempotent)")
    async def order(self, state: State, request: Request) -> Response:
        body = decode_body(await request.body(), OrderBody)
        return answer(await service(state).place_order(body))

    @post("/cancel", summary="Cancel an order by ordId or clOrdId")
    async def cancel(self, state: State, request: Request) -> Response:
        body = decode_body(await request.body(), CancelBody)
        return Response(content=await service(state).cancel(body), status_code=200, media_type=MediaType.JSON)

    @post("/close-position", summary="Close a whole position at market (always allowed by the risk guard)")
    async def close_position(self, state: State, request: Request) -> Response:
        body = decode_body(await request.body(), ClosePositionBody)
        return answer(await service(state).close_position(body))

    @get("/risk", summary="Risk limits and the current state (equity, day loss, latch, exposure)")
    async def risk(self, state: State) -> dict[str, Any]:
        return await service(state).risk()

    @post("/risk/reset", summary="Reset the daily-loss latch by hand; the equity now becomes the day's baseline")
    async def risk_reset(self, state: State) -> Response:
        return Response(content=await service(state).reset_risk(), status_code=200, media_type=MediaType.JSON)

    @get("/risk/refusals", summary="Orders the risk guard refused, newest first")
    async def refusals(self, state: State, limit: str | None = None) -> dict[str, Any]:
        rows = await q.list_refusals(state.pool, parse_int(limit, "limit", 100, 1, 1000))
        return {"refusals": [refusal_out(r) for r in rows]}

    @get("/approvals", summary="Agent orders awaiting (or past) approval; status=pending by default, all for every one")
    async def approvals(self, state: State, status: str | None = None, limit: str | None = None) -> dict[str, Any]:
        wanted = status or "pending"
        if wanted != "all" and wanted not in APPROVAL_STATUSES:
            raise BadRequest(f"status must be all or one of {', '.join(APPROVAL_STATUSES)}, got {wanted!r}", field="status")
        rows = await q.list_approvals(state.pool, None if wanted == "all" else wanted, parse_int(limit, "limit", 100, 1, 1000))
        return {"approvals": [approval_out(r) for r in rows]}

    @post("/approvals/{approval_id:int}/approve", summary="Approve a pending agent order: it is placed now (risk re-checked)")
    async def approve(self, state: State, approval_id: int) -> Response:
        return answer(await service(state).decide(approval_id, approve=True))

    @post("/approvals/{approval_id:int}/reject", summary="Reject a pending agent order")
    async def reject(self, state: State, approval_id: int) -> Response:
        return answer(await service(state).decide(approval_id, approve=False))
