"""Account REST endpoints: balance, positions, config and settings, bills, max sizes, fee rates."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from aiohttp import web

from okxsim.engine import MAKER_RATE, TAKER_RATE
from okxsim.rest.bodies import SetAccountLevelBody, SetLeverageBody, SetPositionModeBody
from okxsim.rest.common import Ctx, check_ids, decode_body, limit_param, required, track_of
from okxsim.views_account import bill_view
from okxsim.wire import ParamError, fmt, ok


async def account_balance(ctx: Ctx) -> web.Response:
    view = ctx.sim.engine.balance_view(ctx.sim.quotes(), ctx.sim.now_ms())
    ccy = ctx.query.get("ccy", "")
    if ccy:
        wanted = {c.strip() for c in ccy.split(",")}
        view["details"] = [d for d in view["details"] if d["ccy"] in wanted]
    return ok([view])


async def account_positions(ctx: Ctx) -> web.Response:
    inst_type = ctx.query.get("instType", "")
    if inst_type and inst_type != "SWAP":
        return ok([])
    ids = {i for i in ctx.query.get("instId", "").split(",") if i} or None
    rows = ctx.sim.engine.positions_view(ctx.sim.quotes(), ids)
    pos_ids = {i for i in ctx.query.get("posId", "").split(",") if i}
    if pos_ids:
        rows = [r for r in rows if r["posId"] in pos_ids]
    return ok(rows)


async def account_config(ctx: Ctx) -> web.Response:
    return ok(
        [
            {
                "acctLv": ctx.sim.engine.acct_lv,
                "acctStpMode": "cancel_maker",
                "autoLoan": False,
                "ctIsoMode": "automatic",
                "enableSpotBorrow": False,
                "greeksType": "PA",
                "feeType": "0",
                "ip": "",
                "type": "0",
                "kycLv": "3",
                "label": "okxsim",
                "level": "Lv1",
                "levelTmp": "",
                "liquidationGear": "-1",
                "mainUid": "100000000000000001",
                "mgnIsoMode": "automatic",
                "opAuth": "1",
                "perm": "read_only,trade",
                "posMode": ctx.sim.engine.pos_mode,
                "roleType": "0",
                "spotBorrowAutoRepay": False,
                "spotOffsetType": "",
                "spotRoleType": "0",
                "spotTraderInsts": [],
                "stgyType": "0",
                "traderInsts": [],
                "uid": "100000000000000001",
                "settleCcy": "USDT",
                "settleCcyList": ["USDT"],
            }
        ]
    )


async def account_set_leverage(ctx: Ctx) -> web.Response:
    body = decode_body(ctx.body, SetLeverageBody)
    lever = ctx.sim.engine.set_leverage(body.instId, str(body.lever), body.mgnMode)
    return ok([{"lever": str(lever), "mgnMode": body.mgnMode, "instId": body.instId, "posSide": body.posSide}])


async def account_leverage_info(ctx: Ctx) -> web.Response:
    mgn_mode = required(ctx.query, "mgnMode")
    if mgn_mode not in ("cross", "isolated"):
        raise ParamError("mgnMode")
    rows = []
    for inst_id in required(ctx.query, "instId").split(","):
        track_of(ctx, inst_id)
        lever = str(ctx.sim.engine.lever_for(inst_id, mgn_mode))
        if ctx.sim.engine.pos_mode == "net_mode":
            rows.append({"instId": inst_id, "mgnMode": mgn_mode, "posSide": "net", "lever": lever})
        else:
            rows += [
                {"instId": inst_id, "mgnMode": mgn_mode, "posSide": side, "lever": lever} for side in ("long", "short")
            ]
    return ok(rows)


async def account_set_position_mode(ctx: Ctx) -> web.Response:
    body = decode_body(ctx.body, SetPositionModeBody)
    ctx.sim.engine.set_position_mode(body.posMode)
    return ok([{"posMode": body.posMode}])


async def account_set_account_level(ctx: Ctx) -> web.Response:
    body = decode_body(ctx.body, SetAccountLevelBody)
    ctx.sim.engine.set_account_level(body.acctLv)
    return ok([{"acctLv": body.acctLv}])


async def account_bills(ctx: Ctx) -> web.Response:
    """Trade bills (type 2), newest first, paged by billId with after/before like OKX."""
    q = ctx.query
    check_ids(q, "after", "before", "begin", "end")
    limit = limit_param(q, "limit", 100, 100)
    if (
        q.get("instType", "") not in ("", "SWAP")
        or q.get("ccy", "") not in ("", "USDT")
        or q.get("type", "") not in ("", "2")
    ):
        return ok([])
    inst_id, after, before = q.get("instId", ""), q.get("after", ""), q.get("before", "")
    begin, end = q.get("begin", ""), q.get("end", "")
    out = []
    for f in reversed(ctx.sim.engine.fills):
        if inst_id and f.order.inst_id != inst_id:
            continue
        if (after and not int(f.bill_id) < int(after)) or (before and not int(f.bill_id) > int(before)):
            continue
        if (begin and f.ts < int(begin)) or (end and f.ts > int(end)):
            continue
        out.append(bill_view(f))
        if len(out) >= limit:
            break
    return ok(out)


def _mgn_mode(ctx: Ctx) -> str:
    td_mode = required(ctx.query, "tdMode")
    if td_mode not in ("cross", "isolated"):
        raise ParamError("tdMode")
    return td_mode


async def account_max_size(ctx: Ctx) -> web.Response:
    """Max contracts buyable/sellable now: available equity x leverage / (ctVal x px), floored to lotSz."""
    td_mode = _mgn_mode(ctx)
    engine = ctx.sim.engine
    avail = engine.totals(ctx.sim.quotes())["avail_eq"]
    rows = []
    for inst_id in required(ctx.query, "instId").split(","):
        spec = track_of(ctx, inst_id).spec
        px_text = ctx.query.get("px", "")
        try:
            px = Decimal(px_text) if px_text else ctx.sim.quotes()[inst_id].last
        except ArithmeticError:
            raise ParamError("px") from None
        lever_text = ctx.query.get("leverage", "")
        lever = (
            Decimal(lever_text) if lever_text and lever_text.isdigit() else Decimal(engine.lever_for(inst_id, td_mode))
        )
        per_contract = spec.ct_val * px * (1 / lever + TAKER_RATE)
        size = max(Decimal(0), avail / per_contract) if per_contract > 0 else Decimal(0)
        size = min((size / spec.lot_sz).to_integral_value(ROUND_DOWN) * spec.lot_sz, spec.max_lmt_sz)
        rows.append({"ccy": "USDT", "instId": inst_id, "maxBuy": fmt(size), "maxSell": fmt(size)})
    return ok(rows)


async def account_max_avail_size(ctx: Ctx) -> web.Response:
    """Available amount (USDT, the margin currency) for opening either way."""
    td_mode = _mgn_mode(ctx)
    avail = max(Decimal(0), ctx.sim.engine.totals(ctx.sim.quotes())["avail_eq"])
    del td_mode
    return ok(
        [
            {"instId": track_of(ctx, i).spec.inst_id, "availBuy": fmt(avail), "availSell": fmt(avail)}
            for i in required(ctx.query, "instId").split(",")
        ]
    )


async def account_trade_fee(ctx: Ctx) -> web.Response:
    inst_type = required(ctx.query, "instType")
    if inst_type not in ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"):
        raise ParamError("instType")
    maker, taker = fmt(-MAKER_RATE), fmt(-TAKER_RATE)  # OKX: negative = a fee charged
    return ok(
        [
            {
                "category": "1",
                "delivery": "",
                "exercise": "",
                "fiat": [],
                "instType": inst_type,
                "level": "Lv1",
                "maker": maker,
                "makerU": maker,
                "makerUSDC": maker,
                "ruleType": "normal",
                "taker": taker,
                "takerU": taker,
                "takerUSDC": taker,
                "ts": str(ctx.sim.now_ms()),
            }
        ]
    )
