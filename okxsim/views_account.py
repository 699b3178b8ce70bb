"""OKX's JSON views of the account: balance (multi-currency details), bills."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from okxsim.engine.margin import position_numbers
from okxsim.engine.model import ZERO, Fill
from okxsim.instruments import SPECS
from okxsim.prices import Quote
from okxsim.wire import fmt

if TYPE_CHECKING:
    from okxsim.engine.core import Engine

# Collateral discount of non-USDT coins in adjEq (multi-currency / portfolio margin); OKX tiers it, we use one rate.
COIN_DISCOUNT = Decimal("0.95")


def coin_usd_price(ccy: str, quotes: Mapping[str, Quote]) -> Decimal:
    """A coin's USD price: the served `<CCY>-USDT-SWAP` last price, else the instrument's start price."""
    inst_id = f"{ccy}-USDT-SWAP"
    if inst_id in quotes:
        return quotes[inst_id].last
    spec = SPECS.get(inst_id)
    return spec.start_price if spec is not None else ZERO


def coin_detail(ccy: str, amount: Decimal, usd_px: Decimal, u_time: str) -> dict:
    eq_usd = amount * usd_px
    return {
        "autoLendStatus": "off",
        "autoLendMtAmt": "0",
        "availBal": fmt(amount),
        "availEq": fmt(amount),
        "borrowFroz": "0",
        "cashBal": fmt(amount),
        "ccy": ccy,
        "crossLiab": "0",
        "colRes": "0",
        "collateralEnabled": False,
        "collateralRestrict": False,
        "colBorrAutoConversion": "0",
        "disEq": fmt(eq_usd * COIN_DISCOUNT),
        "eq": fmt(amount),
        "eqUsd": fmt(eq_usd),
        "smtSyncEq": "0",
        "spotCopyTradingEq": "0",
        "fixedBal": "0",
        "frozenBal": "0",
        "frpType": "0",
        "imr": "",
        "interest": "0",
        "isoEq": "0",
        "isoLiab": "0",
        "isoUpl": "0",
        "liab": "0",
        "maxLoan": "0",
        "mgnRatio": "",
        "mmr": "",
        "notionalLever": "",
        "ordFrozen": "0",
        "rewardBal": "0",
        "spotInUseAmt": "",
        "clSpotInUseAmt": "",
        "maxSpotInUse": "",
        "spotIsoBal": "0",
        "stgyEq": "0",
        "twap": "0",
        "uTime": u_time,
        "upl": "0",
        "uplLiab": "0",
        "spotBal": fmt(amount),
        "openAvgPx": "",
        "accAvgPx": "",
        "spotUpl": "",
        "spotUplRatio": "",
        "totalPnl": "",
        "totalPnlRatio": "",
    }


def balance_view(engine: Engine, quotes: Mapping[str, Quote], now_ms: int) -> dict:
    t = engine.totals(quotes)
    iso_eq = ZERO
    for p in engine.positions.values():
        if p.mgn_mode == "isolated":
            _, imr, upl = position_numbers(engine.specs[p.inst_id], p, quotes[p.inst_id].last)
            iso_eq += imr + upl
    u_time = str(engine.u_time or now_ms)
    mgn_ratio = fmt(t["eq"] / t["mmr"]) if t["mmr"] else ""
    detail = {
        "autoLendStatus": "off",
        "autoLendMtAmt": "0",
        "availBal": fmt(t["avail_bal"]),
        "availEq": fmt(t["avail_eq"]),
        "borrowFroz": "0",
        "cashBal": fmt(engine.cash),
        "ccy": "USDT",
        "crossLiab": "0",
        "colRes": "0",
        "collateralEnabled": False,
        "collateralRestrict": False,
        "colBorrAutoConversion": "0",
        "disEq": fmt(t["eq"]),
        "eq": fmt(t["eq"]),
        "eqUsd": fmt(t["eq"]),
        "smtSyncEq": "0",
        "spotCopyTradingEq": "0",
        "fixedBal": "0",
        "frozenBal": fmt(t["frozen"]),
        "frpType": "0",
        "imr": fmt(t["imr"]),
        "interest": "0",
        "isoEq": fmt(iso_eq),
        "isoLiab": "0",
        "isoUpl": "0",
        "liab": "0",
        "maxLoan": "0",
        "mgnRatio": mgn_ratio,
        "mmr": fmt(t["mmr"]),
        "notionalLever": fmt(t["notional"] / t["eq"]) if t["eq"] > 0 else "",
        "ordFrozen": fmt(t["ord_frozen"]),
        "rewardBal": "0",
        "spotInUseAmt": "",
        "clSpotInUseAmt": "",
        "maxSpotInUse": "",
        "spotIsoBal": "0",
        "stgyEq": "0",
        "twap": "0",
        "uTime": u_time,
        "upl": fmt(t["upl"]),
        "uplLiab": "0",
        "spotBal": "",
        "openAvgPx": "",
        "accAvgPx": "",
        "spotUpl": "",
        "spotUplRatio": "",
        "totalPnl": "",
        "totalPnlRatio": "",
    }
    coins = [(ccy, amount, coin_usd_price(ccy, quotes)) for ccy, amount in sorted(engine.holdings.items()) if amount]
    coins_usd = sum((amount * px for _, amount, px in coins), ZERO)
    total_eq = t["eq"] + coins_usd
    # OKX reports adjEq only in Multi-currency (3) and Portfolio (4) margin; "" in Spot and Futures mode.
    adj_eq = fmt(t["eq"] + coins_usd * COIN_DISCOUNT) if engine.acct_lv in ("3", "4") else ""
    return {
        "adjEq": adj_eq,
        "availEq": fmt(t["avail_eq"]),
        "borrowFroz": "0",
        "delta": "0",
        "deltaLever": "0",
        "deltaNeutralStatus": "0",
        "details": [detail] + [coin_detail(ccy, amount, px, u_time) for ccy, amount, px in coins],
        "imr": fmt(t["imr"]),
        "isoEq": fmt(iso_eq),
        "mgnRatio": mgn_ratio,
        "mmr": fmt(t["mmr"]),
        "notionalUsd": fmt(t["notional"]),
        "notionalUsdForBorrow": "0",
        "notionalUsdForFutures": "0",
        "notionalUsdForOption": "0",
        "notionalUsdForSwap": fmt(t["notional"]),
        "ordFroz": fmt(t["ord_frozen"]),
        "totalEq": fmt(total_eq),
        "uTime": u_time,
        "upl": fmt(t["upl"]),
    }


# OKX bill subType for trades: 1 buy, 2 sell, 3 open long, 4 open short, 5 close long, 6 close short.
def bill_view(f: Fill) -> dict:
    o = f.order
    return {
        "bal": fmt(f.bal),
        "balChg": fmt(f.pnl + f.fee),
        "billId": f.bill_id,
        "ccy": "USDT",
        "clOrdId": o.cl_ord_id,
        "execType": f.exec_type,
        "fee": fmt(f.fee),
        "fillFwdPx": "",
        "fillIdxPx": fmt(f.px),
        "fillMarkPx": fmt(f.px),
        "fillMarkVol": "",
        "fillPxUsd": "",
        "fillPxVol": "",
        "fillTime": str(f.ts),
        "from": "",
        "instId": o.inst_id,
        "instType": "SWAP",
        "interest": "0",
        "mgnMode": o.td_mode,
        "notes": "",
        "ordId": o.ord_id,
        "pnl": fmt(f.pnl),
        "posBal": "0",
        "posBalChg": "0",
        "px": fmt(f.px),
        "subType": f.sub_type,
        "sz": fmt(f.sz),
        "tag": o.tag,
        "to": "",
        "tradeId": f.trade_id,
        "ts": str(f.ts),
        "type": "2",
    }
