"""POST /api/trade/position-tpsl (COMMON.md interface 2): set (replace) the TP/SL of an open position.

Same rules as orders: the instrument must be tradable and allowed, the triggers go on the tick (rounded
toward the market, `shared.instrument_rules`), a long's TP above / SL below the mark (a short's the other
way), the risk guard checks it as a closing order (an agent's change waits for approval in manual mode), and
`RISK_REQUIRE_STOP_LOSS` keeps a stop-loss on every position. At OKX it becomes ONE algo order
(`api_server.okx.tpsl`): null/absent removes that leg; both null removes the TP/SL.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from api_server.account.sync import dec
from api_server.errors import BadRequest, NotFound
from api_server.fields import choice, require_inst_id
from api_server.fields import run_id as valid_run_id
from api_server.okx.rest import new_cl_ord_id
from api_server.okx.tpsl import replace_position_stops
from api_server.trading.origins import MANUAL, origin_kind, run_id_of
from api_server.trading.risk import OrderIntent
from api_server.trading.schemas import Outcome
from api_server.trading.sizing import plain_decimal
from shared.instrument_rules import RuleViolation, check_stop_sides, check_tradable, trigger_price

log = logging.getLogger("aitrader.api.trading.tpsl")

Number = str | int | float


class PositionTpslRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    instId: Annotated[str, msgspec.Meta(extra_json_schema={"description": "instrument of the open position"})]
    posSide: Annotated[
        str | None,
        msgspec.Meta(
            extra_json_schema={
                "description": "which position in long/short mode; net in net mode",
                "extra": {"enum": ["net", "long", "short"]},
            }
        ),
    ] = None
    tpTriggerPx: Annotated[
        Number | None,
        msgspec.Meta(
            extra_json_schema={
                "description": "take-profit trigger (last price); null or absent removes the take-profit"
            }
        ),
    ] = None
    slTriggerPx: Annotated[
        Number | None,
        msgspec.Meta(
            extra_json_schema={"description": "stop-loss trigger (last price); null or absent removes the stop-loss"}
        ),
    ] = None
    runId: Annotated[
        str | None, msgspec.Meta(extra_json_schema={"description": "strategy run id of the agent asking"})
    ] = None


class PositionTpslResult(msgspec.Struct, kw_only=True):
    instId: str
    posSide: str
    tpTriggerPx: str | None
    slTriggerPx: str | None
    algoIds: list[str]


def _price(field: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadRequest(f"{field} must be a number or null, got {value!r}", field=field)
    number = dec(value if not isinstance(value, float) else repr(value))
    if number is None or number <= 0:
        raise BadRequest(f"{field} must be a positive number or null, got {value!r}", field=field)
    return number


async def set_position_tpsl(
    path: Any, body: PositionTpslRequest, origin: str = MANUAL, *, approval_id: int | None = None
) -> Outcome:
    """`path`: the OrderPath (its okx, instruments, guard, balances, pool, events, sync)."""
    from api_server.trading.approvals import hold_for_approval  # approvals dispatches back here: import late

    run_id = run_id_of(origin, valid_run_id(body.runId))
    inst_id = require_inst_id(body.instId)
    wanted = None if body.posSide is None else choice("posSide", body.posSide, ("net", "long", "short"))
    tp, sl = _price("tpTriggerPx", body.tpTriggerPx), _price("slTriggerPx", body.slTriggerPx)
    positions = [
        p
        for p in await path.okx.get_positions(inst_type="SWAP", inst_id=inst_id)
        if dec(p.pos) and (wanted is None or (p.posSide or "net") == wanted)
    ]
    if not positions:
        raise NotFound(f"no open position in {inst_id}" + (f" ({wanted})" if wanted else ""), field="instId")
    if len(positions) > 1:
        raise BadRequest(f"posSide is required: {inst_id} has {len(positions)} open positions", field="posSide")
    p = positions[0]
    pos_side = p.posSide or "net"
    size = dec(p.pos)
    long = pos_side == "long" or (pos_side == "net" and size > 0)
    rules = await path.instruments.rules(inst_id)
    if rules is None:
        raise BadRequest(f"instId: unknown instrument {inst_id!r} at OKX", field="instId")
    price = dec(p.markPx) or dec(p.last) or dec(p.avgPx)
    try:
        check_tradable(rules)
        tp = trigger_price("tpTriggerPx", tp, long, rules) if tp is not None else None
        sl = trigger_price("slTriggerPx", sl, long, rules) if sl is not None else None
        if price is not None:
            check_stop_sides(long, price, tp, sl)
    except RuleViolation as exc:
        raise BadRequest(exc.message, field=exc.field) from None
    if sl is None and path.guard.limits.require_stop_loss:
        raise BadRequest(
            "RISK_REQUIRE_STOP_LOSS is on: a position keeps a stop-loss (give slTriggerPx)", field="slTriggerPx"
        )
    spec = await path.instruments.get(inst_id)
    intent = OrderIntent(
        inst_id=inst_id,
        side="sell" if long else "buy",
        pos_side=pos_side,
        sz=abs(size),
        price=price or Decimal(1),
        ct_val=dec(spec.ctVal) if spec else Decimal(1),
        leverage=dec(p.lever) or Decimal(1),
        closing=True,
        has_stop_loss=sl is not None,
        origin=origin_kind(origin),
    )
    request = {**msgspec.to_builtins(body), "instId": inst_id}
    reading = await path.balances.read_balance()
    decision = await path.guard.check(intent, reading.trading_eq, {}, request, run_id, origin)
    if decision.needs_approval and approval_id is None:
        return await hold_for_approval(
            path.pool,
            path.events,
            kind="tpsl",
            origin=origin,
            inst_id=inst_id,
            cl_ord_id=new_cl_ord_id(),
            run_id=run_id,
            request=request,
        )
    stops = await replace_position_stops(
        path.okx,
        inst_id=inst_id,
        td_mode=p.mgnMode or "cross",
        pos_side=pos_side,
        position_long=long,
        tp=plain_decimal(tp) if tp is not None else None,
        sl=plain_decimal(sl) if sl is not None else None,
    )
    log.info(
        "position TP/SL set: %s %s tp=%s sl=%s algoIds=%s origin=%s", inst_id, pos_side, tp, sl, stops.algo_ids, origin
    )
    try:
        await path.sync.sync()
    except Exception as exc:  # noqa: BLE001 - the TP/SL is set at OKX; the loop syncs the records later
        log.warning("sync after position TP/SL failed: %s", exc)
    return Outcome(
        200,
        PositionTpslResult(
            instId=inst_id,
            posSide=pos_side,
            tpTriggerPx=plain_decimal(tp) if tp is not None else None,
            slTriggerPx=plain_decimal(sl) if sl is not None else None,
            algoIds=stops.algo_ids,
        ),
    )
