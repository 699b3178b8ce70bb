"""System prompts, the code-built analysis context, and parsing of the model's final answer."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

from agent.indicators import indicator_summary, volatility_summary
from agent.trading_api import (
    TradingApi,
    TradingApiError,
    closed_only,
    compact_balance,
    compact_order,
    extract_rows,
    parse_candles,
)

ANALYSIS_SYSTEM_PROMPT = """\
You are the trading analyst of AiTrader, managing USDT-margined OKX perpetual swaps for one account.
Each request is one strategy trigger for one instrument, with a market and account snapshot built by code.

Rules, in order of priority:
1. Risk first. Never risk more than 1-2% of account equity on one position (distance to the stop x size).
   Size against the risk guard's equity (get_risk_limits state.equity, USDT), not totalEq (it counts coin holdings).
   Keep leverage modest (at most 5x). If the data is missing or contradictory, do nothing.
2. Every position has an exit plan: when you open one, attach a stop-loss (slTriggerPx) and a take-profit
   (tpTriggerPx). An open position without a stop is an error to fix: attach one with set_position_tpsl
   (or close it). Move a stop with move_stop (e.g. to break-even once in profit).
3. Never hold a long and a short on the same instrument at once. To reverse, close first.
4. Sizes for swaps are in contracts: contracts = USDT notional / (price x ctVal), a multiple of lotSz and at
   least minSz. Check get_instrument before sizing.
5. Use the tools to check anything you rely on; the snapshot may be seconds old. Orders pass the API's risk
   guard (get_risk_limits: max leverage, max order and exposure as % of equity, daily loss latch); if it
   refuses, read the rule and the numbers, then adjust or stand aside. Do not retry blindly. An order answered
   "pending_approval" is not placed yet: a person decides; say so in your answer.
6. Doing nothing is a valid decision when the signal is weak.

7. Tool calls of one message run in the order you write them; trading calls one at a time. If one fails, the
   later trading calls of that message are not run: read the results and decide again.

Finish by calling submit_decision once with the structured decision (action, size, entry, stop, target,
invalidation, confidence 0-100, a short reason); then answer briefly: the decision, the reasons (trend,
momentum, levels), the exit plan of every open position, and the risk taken. End with one line exactly like
`Confidence: 72` (0-100, how sure you are of this decision).
"""

CHAT_SYSTEM_PROMPT = """\
You are the AiTrader assistant for one OKX trading account (USDT-margined perpetual swaps by default).
Answer questions about the market and the account using the tools; show numbers with their units
(swap sizes are contracts; one contract = ctVal coin). If the person asks you to trade, follow the same
discipline as the strategy: risk at most 1-2% of equity per position, always a stop-loss and a take-profit,
never a long and a short on the same instrument. Orders pass the API's risk guard and approval mode; report
refusals plainly. Be concise.
"""

CONFIDENCE_RE = re.compile(
    r"(?:confidence|置信度|信心)\s*(?:\(0\s*-\s*100\))?\s*[:：=]?\s*\**\s*(\d{1,3}(?:\.\d+)?)\s*(%|/\s*100)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FinalAnswer:
    summary: str
    confidence: int | None


def parse_final_answer(text: str) -> FinalAnswer:
    """Summary is the answer without its confidence line; the last stated confidence counts, clamped to 0-100."""
    matches = list(CONFIDENCE_RE.finditer(text))
    confidence: int | None = None
    summary = text.strip()
    if matches:
        last = matches[-1]
        confidence = max(0, min(100, round(float(last.group(1)))))
        line_start = text.rfind("\n", 0, last.start()) + 1
        line_end = text.find("\n", last.end())
        line = text[line_start : len(text) if line_end == -1 else line_end]
        # Drop the line only when it is nothing but the confidence statement.
        if len(line.strip()) <= len(last.group(0).strip()) + 6:
            summary = (text[:line_start] + ("" if line_end == -1 else text[line_end + 1 :])).strip()
    return FinalAnswer(summary=summary or text.strip(), confidence=confidence)


@dataclass(frozen=True)
class AnalysisTrigger:
    run_id: str
    inst_id: str
    source: str
    price: str | None
    baseline: str | None
    deviation_bps: float | None


HIGHER_TIMEFRAME = "4H"


def _candle_view(candles: Any, recent: int) -> dict[str, Any]:
    """Indicators on finished candles (the forming one dropped), ATR and volume, the last few rows."""
    if isinstance(candles, dict) and "unavailable" in candles:
        return {"indicators": candles}
    parsed = closed_only(parse_candles(candles))
    if not parsed:
        return {"indicators": {"unavailable": "no finished candles"}}
    highs, lows, closes = [c.high for c in parsed], [c.low for c in parsed], [c.close for c in parsed]
    return {
        "indicators": {
            **indicator_summary(closes),
            **volatility_summary(highs, lows, closes, [c.volume for c in parsed]),
        },
        "recent": [[c.ts, c.open, c.high, c.low, c.close, c.volume] for c in parsed[-recent:]],
    }


async def fetch_snapshot(api: TradingApi, inst_id: str, bar: str) -> dict[str, Any]:
    """Everything the context shows, fetched concurrently; a part that fails is reported, not fatal."""

    async def part(coro: Any) -> Any:
        try:
            return await coro
        except TradingApiError as exc:
            return {"unavailable": str(exc)}

    ticker, candles, higher, instrument, balance, positions, orders, risk, funding = await asyncio.gather(
        part(api.get("/api/market/ticker", {"instId": inst_id})),
        part(api.get("/api/market/candles", {"instId": inst_id, "bar": bar, "limit": 100})),
        part(api.get("/api/market/candles", {"instId": inst_id, "bar": HIGHER_TIMEFRAME, "limit": 100})),
        part(api.get("/api/market/instruments", {"instId": inst_id})),
        part(api.get("/api/account/balances")),
        part(api.get("/api/account/positions")),
        part(api.get("/api/account/orders", {"instId": inst_id, "state": "open", "limit": 50})),
        part(api.get("/api/trade/risk")),
        part(api.get("/api/market/funding-rate", {"instId": inst_id})) if inst_id.endswith("-SWAP") else _none(),
    )
    snapshot: dict[str, Any] = {
        "ticker": ticker,
        "balance": balance if isinstance(balance, dict) and "unavailable" in balance else compact_balance(balance),
    }
    view = _candle_view(candles, 5)
    snapshot["indicators"], snapshot["recentCandles"] = view["indicators"], view.get("recent", [])
    snapshot["higherTimeframe"] = _candle_view(higher, 3)
    if isinstance(instrument, dict) and "unavailable" in instrument:
        snapshot["instrument"] = instrument
    else:
        rows = extract_rows(instrument, "instruments")
        spec = next(
            (r for r in rows if isinstance(r, dict) and r.get("instId") == inst_id), rows[0] if rows else instrument
        )
        keep = ("instId", "ctVal", "ctValCcy", "lotSz", "minSz", "tickSz", "lever", "state")
        snapshot["instrument"] = {k: spec.get(k) for k in keep if k in spec} if isinstance(spec, dict) else spec
    if isinstance(positions, dict) and "unavailable" in positions:
        snapshot["positions"] = snapshot["otherPositions"] = positions
    else:
        rows = [p for p in extract_rows(positions, "positions") if isinstance(p, dict)]
        snapshot["positions"] = [p for p in rows if p.get("instId") in (None, inst_id)]
        keep = ("instId", "posSide", "pos", "avgPx", "notionalUsd", "upl", "lever", "slTriggerPx", "tpTriggerPx")
        snapshot["otherPositions"] = [
            {k: p.get(k) for k in keep if k in p} for p in rows if p.get("instId") not in (None, inst_id)
        ]
    snapshot["openOrders"] = (
        orders
        if isinstance(orders, dict) and "unavailable" in orders
        else [
            compact_order(o)
            for o in extract_rows(orders, "orders")
            if isinstance(o, dict) and o.get("instId") in (None, inst_id)
        ]
    )
    snapshot["risk"] = risk
    if isinstance(funding, dict) and "unavailable" not in funding:
        funding = {
            k: funding.get(k)
            for k in ("fundingRate", "nextFundingRate", "fundingTime", "nextFundingTime")
            if k in funding
        }
    snapshot["funding"] = funding
    return snapshot


async def _none() -> None:
    return None


def _fmt(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def trigger_line(trigger: AnalysisTrigger) -> str:
    move = "n/a"
    if trigger.deviation_bps is not None:
        move = f"{trigger.deviation_bps:+.1f} bps ({trigger.deviation_bps / 100:+.2f}%)"
    return (
        f"Trigger: source={trigger.source}, price={trigger.price or 'n/a'}, baseline={trigger.baseline or 'n/a'}, "
        f"move={move}"
    )


def build_analysis_context(trigger: AnalysisTrigger, snapshot: dict[str, Any], bar: str, now_iso: str) -> str:
    """The user message of an analysis: built by code so the model starts from checked facts."""
    lines = [
        "# Strategy analysis request",
        f"Instrument: {trigger.inst_id}",
        f"Run id: {trigger.run_id}",
        f"Time (UTC): {now_iso}",
        trigger_line(trigger),
        "",
        "## Market",
        f"Ticker: {_fmt(snapshot.get('ticker'))}",
        f"Indicators on finished {bar} candles (oldest-first EMA12/EMA26/MACD(12,26,9)/RSI14/ATR14/volume): "
        f"{_fmt(snapshot.get('indicators'))}",
        f"Last finished candles [ts,o,h,l,c,vol]: {_fmt(snapshot.get('recentCandles', []))}",
        f"Higher timeframe {HIGHER_TIMEFRAME} (finished candles; ATR14, volume vs its 20-candle mean): "
        f"{_fmt(snapshot.get('higherTimeframe'))}",
        f"Funding rate (positive: longs pay shorts): {_fmt(snapshot.get('funding'))}",
        f"Instrument spec: {_fmt(snapshot.get('instrument'))}",
        "",
        "## Account",
        f"Balance: {_fmt(snapshot.get('balance'))}",
        f"Positions on {trigger.inst_id}: {_fmt(snapshot.get('positions'))}",
        f"Open orders on {trigger.inst_id}: {_fmt(snapshot.get('openOrders'))}",
        f"Exposure on other instruments (positions): {_fmt(snapshot.get('otherPositions'))}",
        f"Risk guard (limits and today's state): {_fmt(snapshot.get('risk'))}",
        "",
        "Decide what to do now for this instrument, act through the tools if needed, then call submit_decision "
        "and answer as instructed.",
    ]
    return "\n".join(lines)
