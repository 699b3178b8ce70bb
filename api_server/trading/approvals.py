"""Pending approvals (TRADE_APPROVAL_MODE=manual): an agent order waits as an approval row until a person
approves it (it is then placed through the one order path, risk re-checked) or rejects it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import msgspec
from psycopg_pool import AsyncConnectionPool

from api_server.account import queries as account_q
from api_server.account.schemas import order_out
from api_server.bodies import decode_body
from api_server.errors import Conflict, NotFound
from api_server.events import EventHub
from api_server.trading import queries as q
from api_server.trading.guard import RiskRefused
from api_server.trading.schemas import (
    ApprovalDecision,
    ApprovalPending,
    ClosePositionRequest,
    OrderPlaced,
    OrderRequest,
    Outcome,
    approval_out,
)

if TYPE_CHECKING:
    from api_server.trading.orders import OrderPath

log = logging.getLogger("aitrader.api.account")


async def hold_for_approval(
    pool: AsyncConnectionPool,
    events: EventHub,
    *,
    kind: str,
    origin: str,
    inst_id: str,
    cl_ord_id: str,
    run_id: str | None,
    request: dict[str, Any],
) -> Outcome:
    """Record the request as a pending approval (once per clOrdId) and answer 202."""
    row, created = await q.insert_approval(
        pool, kind=kind, origin=origin, run_id=run_id, inst_id=inst_id, cl_ord_id=cl_ord_id, request=request
    )
    if created:
        log.info("%s %s for %s awaits approval %s (TRADE_APPROVAL_MODE=manual)", origin, kind, inst_id, row["id"])
        events.publish("approval", approval_out(row))
    return Outcome(
        202,
        ApprovalPending(
            status=row["status"],
            approvalId=row["id"],
            clOrdId=cl_ord_id,
            approval=approval_out(row),
            duplicate=not created,
        ),
    )


async def earlier_answer(pool: AsyncConnectionPool, cl_ord_id: str, approval_id: int | None) -> Outcome | None:
    """The answer already given for this clOrdId (its order, or its pending approval), else None."""
    existing = await account_q.order_by_cl_ord_id(pool, cl_ord_id)
    if existing is not None:
        return Outcome(200, OrderPlaced(order=order_out(existing), duplicate=True))
    if approval_id is None:
        approval = await q.approval_by_cl_ord_id(pool, cl_ord_id)
        if approval is not None:
            return Outcome(
                202,
                ApprovalPending(
                    status=approval["status"],
                    approvalId=approval["id"],
                    clOrdId=cl_ord_id,
                    approval=approval_out(approval),
                    duplicate=True,
                ),
            )
    return None


class ApprovalDesk:
    def __init__(self, *, pool: AsyncConnectionPool, orders: OrderPath, events: EventHub) -> None:
        self.pool = pool
        self.orders = orders
        self.events = events

    async def _finish(self, approval_id: int, status: str, detail: str | None) -> dict[str, Any]:
        row = await q.finish_approval(self.pool, approval_id, status, detail)
        self.events.publish("approval", approval_out(row))  # the web app updates the approval at once
        return row

    async def list(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        return await q.list_approvals(self.pool, status, limit)

    async def decide(self, approval_id: int, approve: bool) -> Outcome:
        claimed = await q.claim_approval(self.pool, approval_id, "approving" if approve else "rejected")
        if claimed is None:
            row = await q.get_approval(self.pool, approval_id)
            if row is None:
                raise NotFound(f"no approval {approval_id}", field="id")
            raise Conflict(
                f"approval {approval_id} is already {row['status']}", field="id", approvalStatus=row["status"]
            )
        if not approve:
            log.info("approval %s rejected", approval_id)
            self.events.publish("approval", approval_out(claimed))
            return Outcome(200, ApprovalDecision(approval=approval_out(claimed)))
        request = msgspec.json.encode(claimed["request"])
        try:
            if claimed["kind"] == "close":
                outcome = await self.orders.close_position(
                    decode_body(request, ClosePositionRequest), claimed["origin"], approval_id=approval_id
                )
            elif claimed["kind"] == "tpsl":
                from api_server.trading.position_tpsl import PositionTpslRequest, set_position_tpsl

                outcome = await set_position_tpsl(
                    self.orders, decode_body(request, PositionTpslRequest), claimed["origin"], approval_id=approval_id
                )
                row = await self._finish(approval_id, "approved", None)
                return Outcome(outcome.status_code, ApprovalDecision(approval=approval_out(row)))
            else:
                outcome = await self.orders.place_order(
                    decode_body(request, OrderRequest), claimed["origin"], approval_id=approval_id
                )
        except RiskRefused as exc:
            await self._finish(approval_id, "refused", exc.detail)
            raise
        except Exception as exc:
            await self._finish(approval_id, "failed", getattr(exc, "detail", None) or str(exc))
            raise
        row = await self._finish(approval_id, "approved", None)
        log.info("approval %s approved and placed", approval_id)
        placed = outcome.body
        if not isinstance(placed, OrderPlaced):  # with an approval id the path never asks for approval again
            raise RuntimeError(f"approval {approval_id}: the order path answered {type(placed).__name__}")
        return Outcome(
            outcome.status_code,
            ApprovalDecision(
                order=placed.order,
                duplicate=placed.duplicate,
                risk=placed.risk,
                clOrdId=placed.clOrdId,
                approval=approval_out(row),
            ),
        )
