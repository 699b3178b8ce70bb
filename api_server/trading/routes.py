"""/api/trade: orders, cancels and closes (manual and agent alike, all through the risk guard), the
risk state and its manual reset, refusals, and pending approvals of agent orders.

Answers: a new order 201 `{"order", "duplicate": false, "risk"}`; the same clOrdId again 200
`{"order", "duplicate": true}`; an agent order in approval mode 202 `{"status": "pending", "approvalId", ...}`;
a risk refusal 422 `{"status_code", "detail", "rule", "limit", "actual", "refusalId"}`.
"""

from __future__ import annotations

from functools import partial

from litestar import Controller, MediaType, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from psycopg_pool import AsyncConnectionPool

from api_server.bodies import decode_body, json_body, require_body
from api_server.errors import BadRequest
from api_server.fields import parse_int
from api_server.trading import queries as q
from api_server.trading.approvals import ApprovalDesk
from api_server.trading.guard import RiskGuard
from api_server.trading.orders import OrderPath
from api_server.trading.origins import ORIGIN_HEADER, parse_origin
from api_server.trading.position_tpsl import PositionTpslRequest, PositionTpslResult, set_position_tpsl
from api_server.trading.schemas import (
    ApprovalDecision,
    ApprovalList,
    ApprovalPending,
    CancelRequest,
    CancelResult,
    ClosePositionRequest,
    OrderPlaced,
    OrderRequest,
    Outcome,
    RefusalList,
    RiskRefusalError,
    RiskStatus,
    approval_out,
    refusal_out,
)

APPROVAL_STATUSES = ("pending", "approving", "approved", "rejected", "refused", "failed")

PLACED = ResponseSpec(
    OrderPlaced, generate_examples=False, description="Placed: the recorded order and the risk decision"
)
DUPLICATE = ResponseSpec(
    OrderPlaced,
    generate_examples=False,
    description="An order with this clOrdId was already recorded: nothing new was sent",
)
AWAITS_APPROVAL = ResponseSpec(
    ApprovalPending,
    generate_examples=False,
    description="An agent order awaits a person's approval (TRADE_APPROVAL_MODE=manual)",
)
REFUSED = ResponseSpec(
    RiskRefusalError, generate_examples=False, description="Refused by the risk guard (recorded: refusalId)"
)


ORIGIN = Parameter(
    header=ORIGIN_HEADER,
    default=None,
    required=False,
    description="who asks: agent:run:<runId>, agent:chat:<sessionId> or mcp:<tokenName>; absent = manual",
)


def answer(outcome: Outcome) -> Response[OrderPlaced | ApprovalPending | ApprovalDecision]:
    return Response(content=outcome.body, status_code=outcome.status_code, media_type=MediaType.JSON)


class TradeController(Controller):
    path = "/api/trade"
    tags = ["trade"]

    @post(
        "/order",
        status_code=201,
        dto=json_body(OrderRequest, partial(decode_body, kind=OrderRequest)),
        return_dto=None,
        responses={201: PLACED, 200: DUPLICATE, 202: AWAITS_APPROVAL, 422: REFUSED},
        summary="Place an order (market/limit; sz in contracts or notionalUsdt; TP/SL; clOrdId idempotent)",
    )
    async def order(
        self, orders: OrderPath, data: OrderRequest | None = None, origin: str | None = ORIGIN
    ) -> Response[OrderPlaced | ApprovalPending]:
        return answer(await orders.place_order(require_body(data), parse_origin(origin)))

    @post(
        "/cancel",
        status_code=200,
        dto=json_body(CancelRequest, partial(decode_body, kind=CancelRequest)),
        return_dto=None,
        summary="Cancel an order by ordId or clOrdId",
    )
    async def cancel(
        self, orders: OrderPath, data: CancelRequest | None = None, origin: str | None = ORIGIN
    ) -> CancelResult:
        return await orders.cancel(require_body(data), parse_origin(origin))

    @post(
        "/close-position",
        status_code=201,
        dto=json_body(ClosePositionRequest, partial(decode_body, kind=ClosePositionRequest)),
        return_dto=None,
        responses={
            201: ResponseSpec(OrderPlaced, generate_examples=False, description="The closing order, placed"),
            200: DUPLICATE,
            202: AWAITS_APPROVAL,
        },
        summary="Close a whole position at market (always allowed by the risk guard)",
    )
    async def close_position(
        self, orders: OrderPath, data: ClosePositionRequest | None = None, origin: str | None = ORIGIN
    ) -> Response[OrderPlaced | ApprovalPending]:
        return answer(await orders.close_position(require_body(data), parse_origin(origin)))

    @post(
        "/position-tpsl",
        status_code=200,
        dto=json_body(PositionTpslRequest, partial(decode_body, kind=PositionTpslRequest)),
        return_dto=None,
        responses={
            200: ResponseSpec(
                PositionTpslResult, generate_examples=False, description="The position's TP/SL as set at OKX"
            ),
            202: AWAITS_APPROVAL,
            422: REFUSED,
        },
        summary="Set (replace) the TP/SL of an open position as one OKX algo order; null or absent removes that leg",
    )
    async def position_tpsl(
        self, orders: OrderPath, data: PositionTpslRequest | None = None, origin: str | None = ORIGIN
    ) -> Response[PositionTpslResult | ApprovalPending]:
        return answer(await set_position_tpsl(orders, require_body(data), parse_origin(origin)))

    @get("/risk", summary="Risk limits and the current state (equity, day loss, latch, exposure)")
    async def risk(self, guard: RiskGuard) -> RiskStatus:
        return await guard.status()

    @post(
        "/risk/reset",
        status_code=200,
        summary="Reset the daily-loss latch by hand; the equity now becomes the day's baseline",
    )
    async def risk_reset(self, guard: RiskGuard) -> RiskStatus:
        return await guard.reset()

    @get("/risk/refusals", summary="Orders the risk guard refused, newest first")
    async def refusals(self, pool: AsyncConnectionPool, limit: str | None = None) -> RefusalList:
        rows = await q.list_refusals(pool, parse_int(limit, "limit", 100, 1, 1000))
        return RefusalList(refusals=[refusal_out(r) for r in rows])

    @get("/approvals", summary="Agent orders awaiting (or past) approval; status=pending by default, all for every one")
    async def approvals(
        self, approvals: ApprovalDesk, status: str | None = None, limit: str | None = None
    ) -> ApprovalList:
        wanted = status or "pending"
        if wanted != "all" and wanted not in APPROVAL_STATUSES:
            raise BadRequest(
                f"status must be all or one of {', '.join(APPROVAL_STATUSES)}, got {wanted!r}", field="status"
            )
        rows = await approvals.list(None if wanted == "all" else wanted, parse_int(limit, "limit", 100, 1, 1000))
        return ApprovalList(approvals=[approval_out(r) for r in rows])

    @post(
        "/approvals/{approval_id:int}/approve",
        status_code=201,
        responses={
            201: ResponseSpec(
                ApprovalDecision, generate_examples=False, description="Approved: the order is placed (risk re-checked)"
            ),
            200: ResponseSpec(
                ApprovalDecision, generate_examples=False, description="Approved: the order was already recorded"
            ),
            422: REFUSED,
        },
        summary="Approve a pending agent order: it is placed now (risk re-checked)",
    )
    async def approve(self, approvals: ApprovalDesk, approval_id: int) -> Response[ApprovalDecision]:
        return answer(await approvals.decide(approval_id, approve=True))

    @post("/approvals/{approval_id:int}/reject", status_code=200, summary="Reject a pending agent order")
    async def reject(self, approvals: ApprovalDesk, approval_id: int) -> Response[ApprovalDecision]:
        return answer(await approvals.decide(approval_id, approve=False))
