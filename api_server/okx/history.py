"""OKX's history reads the account reconciler pages through (docs `trading-trade-get-transaction-details-last-3-months.md`,
`trading-trade-get-order-history-last-3-months.md`, `trading/account/rest-api-get-positions-history.md`).

Functions over the REST client rather than methods on it, so they stay out of rest.py (owned by the client's
module); they use the client's one request path (`_call`: signing, rate limits, retries of reads).
"""

from __future__ import annotations

from typing import Any

import msgspec

from api_server.okx.models import Fill, Order

FILLS_HISTORY = "/api/v5/trade/fills-history"
ORDERS_HISTORY = "/api/v5/trade/orders-history"
ORDERS_HISTORY_ARCHIVE = "/api/v5/trade/orders-history-archive"
POSITIONS_HISTORY = "/api/v5/account/positions-history"
PAGE_LIMIT = 100  # OKX's maximum for all four


class PositionHistory(msgspec.Struct):
    """One closed (or partly closed) position; `type`: 1 partly closed, 2 closed, 3 liquidation,
    4 partial liquidation, 5/6 ADL."""

    instId: str = ""
    instType: str = ""
    posId: str = ""
    posSide: str = ""
    mgnMode: str = ""
    direction: str = ""
    type: str = ""
    openAvgPx: str = ""
    closeAvgPx: str = ""
    openMaxPos: str = ""
    closeTotalPos: str = ""
    realizedPnl: str = ""
    pnl: str = ""
    fee: str = ""
    fundingFee: str = ""
    liqPenalty: str = ""
    lever: str = ""
    triggerPx: str = ""
    cTime: str = ""
    uTime: str = ""


async def _read(okx: Any, path: str, item_type: Any, params: dict[str, Any]) -> list[Any]:
    return await okx._call("GET", path, item_type, params=params, private=True)  # the client's one request path


async def fills_history(
    okx: Any, *, inst_type: str = "SWAP", after: str | None = None, before: str | None = None, limit: int = PAGE_LIMIT
) -> list[Fill]:
    return await _read(
        okx, FILLS_HISTORY, Fill, {"instType": inst_type, "after": after, "before": before, "limit": limit}
    )


async def orders_history(
    okx: Any,
    *,
    archive: bool,
    inst_type: str = "SWAP",
    after: str | None = None,
    before: str | None = None,
    limit: int = PAGE_LIMIT,
) -> list[Order]:
    path = ORDERS_HISTORY_ARCHIVE if archive else ORDERS_HISTORY
    return await _read(okx, path, Order, {"instType": inst_type, "after": after, "before": before, "limit": limit})


async def positions_history(
    okx: Any, *, inst_type: str = "SWAP", inst_id: str | None = None, limit: int = PAGE_LIMIT
) -> list[PositionHistory]:
    return await _read(
        okx, POSITIONS_HISTORY, PositionHistory, {"instType": inst_type, "instId": inst_id, "limit": limit}
    )
