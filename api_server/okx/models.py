"""msgspec Structs for the parts of OKX v5 replies the trading API consumes.

Values stay OKX's strings (prices, sizes, ms timestamps); unknown fields are ignored and missing ones
default to "" so both doc-shaped and real replies decode. `Ticker` lives in `api_server.tickers`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from api_server.tickers import Ticker

__all__ = [
    "AccountConfig",
    "AlgoOrder",
    "AlgoOrderResult",
    "AmendOrderResult",
    "Balance",
    "BalanceDetail",
    "CancelOrderResult",
    "Candle",
    "ClosePositionResult",
    "Envelope",
    "Fill",
    "FundingRate",
    "Instrument",
    "LeverageResult",
    "Order",
    "OrderBook",
    "PlaceOrderResult",
    "Position",
    "ServerTime",
    "Ticker",
    "Trade",
]


class Envelope(msgspec.Struct):
    """`{"code","msg","data"}` in any key order; `data` is decoded later into the endpoint's type."""

    code: str | int = ""
    msg: str = ""
    data: msgspec.Raw = msgspec.Raw(b"[]")


class OrderItemStatus(msgspec.Struct):
    """Per-item result of place/cancel/amend (`sCode` "0" = accepted)."""

    sCode: str = ""
    sMsg: str = ""
    clOrdId: str = ""
    ordId: str = ""


class Candle(msgspec.Struct, array_like=True):
    """One candlestick row `[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]` (ts = open time, ms)."""

    ts: str
    o: str
    h: str
    l: str  # noqa: E741 - OKX's own column name
    c: str
    vol: str = ""
    volCcy: str = ""
    volCcyQuote: str = ""
    confirm: str = ""


class OrderBook(msgspec.Struct):
    asks: list[list[str]] = msgspec.field(default_factory=list)  # [px, sz, "0", numOrders], best first
    bids: list[list[str]] = msgspec.field(default_factory=list)
    ts: str = ""
    seqId: int = 0


class Trade(msgspec.Struct):
    instId: str = ""
    tradeId: str = ""
    px: str = ""
    sz: str = ""
    side: str = ""
    source: str = ""
    ts: str = ""


class Instrument(msgspec.Struct):
    instId: str
    instType: str = ""
    instFamily: str = ""
    uly: str = ""
    baseCcy: str = ""
    quoteCcy: str = ""
    settleCcy: str = ""
    ctVal: str = ""
    ctMult: str = ""
    ctValCcy: str = ""
    ctType: str = ""
    lotSz: str = ""
    minSz: str = ""
    tickSz: str = ""
    lever: str = ""
    maxMktSz: str = ""
    maxLmtSz: str = ""
    state: str = ""
    listTime: str = ""
    expTime: str = ""


class FundingRate(msgspec.Struct):
    instId: str = ""
    instType: str = ""
    fundingRate: str = ""
    nextFundingRate: str = ""
    fundingTime: str = ""
    nextFundingTime: str = ""
    minFundingRate: str = ""
    maxFundingRate: str = ""
    method: str = ""
    ts: str = ""


class ServerTime(msgspec.Struct):
    ts: str


class BalanceDetail(msgspec.Struct):
    ccy: str = ""
    eq: str = ""
    cashBal: str = ""
    availBal: str = ""
    availEq: str = ""
    frozenBal: str = ""
    ordFrozen: str = ""
    upl: str = ""
    eqUsd: str = ""
    disEq: str = ""
    liab: str = ""
    isoEq: str = ""
    imr: str = ""
    mmr: str = ""
    mgnRatio: str = ""
    notionalLever: str = ""
    uTime: str = ""


class Balance(msgspec.Struct):
    totalEq: str = ""
    isoEq: str = ""
    adjEq: str = ""
    availEq: str = ""
    ordFroz: str = ""
    imr: str = ""
    mmr: str = ""
    mgnRatio: str = ""
    notionalUsd: str = ""
    upl: str = ""
    uTime: str = ""
    details: list[BalanceDetail] = msgspec.field(default_factory=list)


class Position(msgspec.Struct):
    instId: str = ""
    instType: str = ""
    posId: str = ""
    posSide: str = ""
    pos: str = ""
    availPos: str = ""
    avgPx: str = ""
    markPx: str = ""
    last: str = ""
    idxPx: str = ""
    upl: str = ""
    uplRatio: str = ""
    uplLastPx: str = ""
    lever: str = ""
    liqPx: str = ""
    margin: str = ""
    imr: str = ""
    mmr: str = ""
    mgnRatio: str = ""
    mgnMode: str = ""
    notionalUsd: str = ""
    realizedPnl: str = ""
    pnl: str = ""
    fee: str = ""
    fundingFee: str = ""
    ccy: str = ""
    bePx: str = ""
    adl: str = ""
    tradeId: str = ""
    closeOrderAlgo: list[dict[str, Any]] = msgspec.field(default_factory=list)  # TP/SL algos closing it
    cTime: str = ""
    uTime: str = ""


class AccountConfig(msgspec.Struct):
    uid: str = ""
    mainUid: str = ""
    acctLv: str = ""
    posMode: str = ""  # "long_short_mode" | "net_mode"
    level: str = ""
    perm: str = ""
    label: str = ""
    ctIsoMode: str = ""
    mgnIsoMode: str = ""
    greeksType: str = ""
    settleCcy: str = ""


class Order(msgspec.Struct):
    instId: str = ""
    instType: str = ""
    ordId: str = ""
    clOrdId: str = ""
    tag: str = ""
    px: str = ""
    sz: str = ""
    ordType: str = ""
    side: str = ""
    posSide: str = ""
    tdMode: str = ""
    accFillSz: str = ""
    fillPx: str = ""
    fillSz: str = ""
    fillTime: str = ""
    tradeId: str = ""
    avgPx: str = ""
    state: str = ""  # live | partially_filled | filled | canceled | mmp_canceled
    lever: str = ""
    tpTriggerPx: str = ""
    tpOrdPx: str = ""
    slTriggerPx: str = ""
    slOrdPx: str = ""
    feeCcy: str = ""
    fee: str = ""
    pnl: str = ""
    reduceOnly: str = ""
    category: str = ""
    source: str = ""
    cancelSource: str = ""
    cancelSourceReason: str = ""
    attachAlgoOrds: list[dict[str, Any]] = msgspec.field(default_factory=list)
    cTime: str = ""
    uTime: str = ""


class Fill(msgspec.Struct):
    instId: str = ""
    instType: str = ""
    tradeId: str = ""
    ordId: str = ""
    clOrdId: str = ""
    billId: str = ""
    subType: str = ""
    tag: str = ""
    fillPx: str = ""
    fillSz: str = ""
    fillPnl: str = ""
    side: str = ""
    posSide: str = ""
    execType: str = ""
    feeCcy: str = ""
    fee: str = ""
    feeRate: str = ""
    fillTime: str = ""
    ts: str = ""


class PlaceOrderResult(msgspec.Struct):
    ordId: str = ""
    clOrdId: str = ""
    tag: str = ""
    ts: str = ""
    sCode: str = ""
    sMsg: str = ""
    subCode: str = ""
    recovered: bool = False  # True when a lost reply was settled by finding the order by its clOrdId


class CancelOrderResult(msgspec.Struct):
    ordId: str = ""
    clOrdId: str = ""
    ts: str = ""
    sCode: str = ""
    sMsg: str = ""
    recovered: bool = False


class LeverageResult(msgspec.Struct):
    instId: str = ""
    lever: str = ""
    mgnMode: str = ""
    posSide: str = ""


class ClosePositionResult(msgspec.Struct):
    instId: str = ""
    posSide: str = ""
    clOrdId: str = ""
    tag: str = ""
    recovered: bool = False


class AmendOrderResult(msgspec.Struct):
    ordId: str = ""
    clOrdId: str = ""
    reqId: str = ""
    ts: str = ""
    sCode: str = ""
    sMsg: str = ""
    recovered: bool = False  # True when a lost reply was settled by looking the order up


class AlgoOrderResult(msgspec.Struct):
    """Per-item result of order-algo / cancel-algos / amend-algos."""

    algoId: str = ""
    algoClOrdId: str = ""
    clOrdId: str = ""
    reqId: str = ""
    tag: str = ""
    sCode: str = ""
    sMsg: str = ""
    recovered: bool = False


class AlgoOrder(msgspec.Struct):
    """One algo order (GET order-algo, orders-algo-pending / -history). `state`: live, pause, partially_effective,
    effective, canceled, order_failed, partially_failed."""

    algoId: str = ""
    algoClOrdId: str = ""
    instId: str = ""
    instType: str = ""
    ordType: str = ""
    state: str = ""
    side: str = ""
    posSide: str = ""
    tdMode: str = ""
    sz: str = ""
    closeFraction: str = ""
    reduceOnly: str = ""
    tpTriggerPx: str = ""
    tpTriggerPxType: str = ""
    tpOrdPx: str = ""
    slTriggerPx: str = ""
    slTriggerPxType: str = ""
    slOrdPx: str = ""
    triggerPx: str = ""
    ordId: str = ""
    actualPx: str = ""
    actualSz: str = ""
    actualSide: str = ""
    triggerTime: str = ""
    cTime: str = ""
    uTime: str = ""
