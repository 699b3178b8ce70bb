"""A position's TP/SL at OKX: read, replace, cancel.

At OKX a position's take-profit / stop-loss is an algo order (OKX_FACTS §3.7 `attachAlgoOrds` become separate
algo orders once the opening order fills). This module keeps ONE per position: `oco` when both legs are set
(one cancels the other), `conditional` for one leg, always `closeFraction=1` (closes the whole position when
triggered, market execution) and, in net mode, `reduceOnly=true` (OKX requires it). OKX accepts only one
full-close TP/SL per position, so replacing one cancels the old first — or amends it in place when the kind
(oco/conditional, which legs) stays the same, leaving no moment without a stop.
Prices arrive on the tick already (`shared.instrument_rules.trigger_price`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from api_server.okx.algo import ALGO_OPEN_STATES, ALGO_TPSL_TYPES
from api_server.okx.models import AlgoOrder

log = logging.getLogger("aitrader.api.okx.tpsl")


def _dec(value: str) -> Decimal | None:
    try:
        number = Decimal(value) if value else None
    except InvalidOperation:
        return None
    return number if number is not None and number.is_finite() and number > 0 else None


@dataclass(frozen=True)
class PositionStops:
    inst_id: str
    pos_side: str
    tp_trigger_px: Decimal | None = None
    sl_trigger_px: Decimal | None = None
    algo_ids: list[str] = field(default_factory=list)


def closing_side(position_long: bool) -> str:
    return "sell" if position_long else "buy"


def position_algos(algos: list[AlgoOrder], inst_id: str, pos_side: str, position_long: bool) -> list[AlgoOrder]:
    """The live TP/SL algo orders that close this position (pure)."""
    found = []
    for algo in algos:
        if algo.instId != inst_id or algo.ordType not in ALGO_TPSL_TYPES or algo.state not in ALGO_OPEN_STATES:
            continue
        if (algo.posSide or "net") != pos_side or algo.side != closing_side(position_long):
            continue
        if pos_side == "net" and algo.reduceOnly.lower() != "true" and algo.closeFraction != "1":
            continue  # a net-mode algo that is not reduce-only could open the other way: not this position's stop
        found.append(algo)
    return found


def stops_from(algos: list[AlgoOrder], inst_id: str, pos_side: str) -> PositionStops:
    tp = next((_dec(a.tpTriggerPx) for a in algos if _dec(a.tpTriggerPx)), None)
    sl = next((_dec(a.slTriggerPx) for a in algos if _dec(a.slTriggerPx)), None)
    return PositionStops(inst_id, pos_side, tp, sl, [a.algoId for a in algos])


async def read_position_stops(
    okx: Any, inst_id: str, pos_side: str, position_long: bool, pending: list[AlgoOrder] | None = None
) -> PositionStops:
    algos = pending if pending is not None else await okx.get_algo_orders_pending(inst_id=inst_id)
    return stops_from(position_algos(algos, inst_id, pos_side, position_long), inst_id, pos_side)


async def cancel_position_stops(okx: Any, inst_id: str, pos_side: str, position_long: bool) -> list[str]:
    """Cancel every TP/SL algo of this position (the position was closed by us: they are orphans now)."""
    algos = position_algos(await okx.get_algo_orders_pending(inst_id=inst_id), inst_id, pos_side, position_long)
    if algos:
        await okx.cancel_algo_orders(inst_id, [a.algoId for a in algos])
        log.info(
            "canceled %d TP/SL algo order(s) of %s %s: %s", len(algos), inst_id, pos_side, [a.algoId for a in algos]
        )
    return [a.algoId for a in algos]


async def replace_position_stops(
    okx: Any, *, inst_id: str, td_mode: str, pos_side: str, position_long: bool, tp: str | None, sl: str | None
) -> PositionStops:
    """Set the position's TP/SL to exactly (tp, sl); None removes that leg; both None removes the TP/SL."""
    existing = position_algos(await okx.get_algo_orders_pending(inst_id=inst_id), inst_id, pos_side, position_long)
    wanted_type = "oco" if tp is not None and sl is not None else "conditional"
    if tp is None and sl is None:
        if existing:
            await okx.cancel_algo_orders(inst_id, [a.algoId for a in existing])
        return PositionStops(inst_id, pos_side)
    if (
        len(existing) == 1
        and existing[0].ordType == wanted_type
        and (_dec(existing[0].tpTriggerPx) is not None) == (tp is not None)
        and (_dec(existing[0].slTriggerPx) is not None) == (sl is not None)
    ):
        algo = existing[0]
        await okx.amend_algo_order(inst_id, algo.algoId, new_tp_trigger_px=tp, new_sl_trigger_px=sl)
        return PositionStops(inst_id, pos_side, _dec(tp or ""), _dec(sl or ""), [algo.algoId])
    if existing:
        await okx.cancel_algo_orders(inst_id, [a.algoId for a in existing])
    placed = await okx.place_algo_order(
        inst_id=inst_id,
        td_mode=td_mode,
        side=closing_side(position_long),
        ord_type=wanted_type,
        pos_side=pos_side,
        close_fraction="1",
        reduce_only=True if pos_side == "net" else None,
        tp_trigger_px=tp,
        sl_trigger_px=sl,
    )
    return PositionStops(inst_id, pos_side, _dec(tp or ""), _dec(sl or ""), [placed.algoId])
