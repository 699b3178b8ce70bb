"""The offline model: a deterministic rule-based trading policy behind an OpenAI-compatible endpoint.

It is mounted in the agent app at `/offline/v1/chat/completions` (streaming and not), so with
`LLM_PROVIDER=offline` the openai client, streaming, tool-call assembly and the tool loop run over
real HTTP exactly as with DeepSeek. Every answer is labelled "[offline model]".

The rule (analysis requests):
1. Read ticker, candles with indicators (EMA12/EMA26/RSI14 on `OKX_TICKER_BAR` closes), balance,
   positions, instrument specs and the API's risk limits through the tools (one message, six parallel
   tool calls).
2. Trend: up when EMA12 > EMA26 by more than 5 bps, down when below by more than 5 bps, else flat.
   Signal: long on an up trend with RSI < 70, short on a down trend with RSI > 30, otherwise none.
3. Already positioned with the signal: hold. Positioned against it (or signal none with a position
   that the trend now opposes): close the position (never flip in the same run, never hedge).
4. Flat with a signal: open with risk 1% of equity to a stop 1.5% away, take-profit 3% away (2R),
   notional capped at 1x equity and at 95% of the risk guard's room (RISK_MAX_ORDER_PCT of equity, and
   what RISK_MAX_EXPOSURE_PCT leaves), leverage 3 (or the guard's maximum if lower), size rounded down to
   lotSz; below minSz, or the daily-loss latch set: no trade.
Confidence: 50 + 2 x |EMA spread in bps| capped at 85 for opening; 60 for close; 55 for hold; 50 no signal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any, Literal

OFFLINE_MODEL_NAME = "aitrader-offline-rules-v1"
LABEL = "[offline model]"
ANALYSIS_MARKER = "# Strategy analysis request"

TREND_BAND_BPS = 5.0
RSI_OVERBOUGHT = 70.0
RSI_OVERSOLD = 30.0
RISK_FRACTION = Decimal("0.01")
STOP_DISTANCE = Decimal("0.015")
TAKE_PROFIT_DISTANCE = Decimal("0.03")
MAX_NOTIONAL_TO_EQUITY = Decimal("1")
LEVERAGE = 3

DATA_TOOLS = ("get_ticker", "get_candles", "get_account_balance", "get_positions", "get_instrument", "get_risk_limits")
# Stay this far inside the guard's limits: equity moves by fees and prices between reading and ordering.
LIMIT_SAFETY = Decimal("0.95")
INST_RE = re.compile(r"\b([A-Z0-9]{2,20}-[A-Z0-9]{2,20}(?:-SWAP|-[0-9]{6})?)\b")


# ---------------------------------------------------------------- the policy (pure)


@dataclass(frozen=True)
class MarketView:
    price: Decimal
    ema_fast: float
    ema_slow: float
    rsi: float


@dataclass(frozen=True)
class Spec:
    ct_val: Decimal
    lot_sz: Decimal
    min_sz: Decimal
    tick_sz: Decimal


@dataclass(frozen=True)
class GuardLimits:
    """What the API's risk guard allows (GET /api/trade/risk); None = no such limit."""

    max_order_pct: Decimal | None = None
    max_exposure_pct: Decimal | None = None
    open_exposure: Decimal = Decimal(0)
    max_leverage: Decimal | None = None
    daily_loss_latched: bool = False


@dataclass(frozen=True)
class Decision:
    action: Literal["open_long", "open_short", "close", "hold", "none"]
    reason: str
    confidence: int
    contracts: Decimal | None = None
    stop_px: Decimal | None = None
    take_px: Decimal | None = None
    close_pos_side: str | None = None
    leverage: int = LEVERAGE


def trend_of(market: MarketView) -> tuple[str, float]:
    spread_bps = (market.ema_fast - market.ema_slow) / market.ema_slow * 10_000 if market.ema_slow else 0.0
    if spread_bps > TREND_BAND_BPS:
        return "up", spread_bps
    if spread_bps < -TREND_BAND_BPS:
        return "down", spread_bps
    return "flat", spread_bps


def signal_of(market: MarketView) -> str:
    trend, _ = trend_of(market)
    if trend == "up" and market.rsi < RSI_OVERBOUGHT:
        return "long"
    if trend == "down" and market.rsi > RSI_OVERSOLD:
        return "short"
    return "none"


def round_to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


def max_notional(equity: Decimal, limits: GuardLimits) -> Decimal:
    """The largest opening notional (USDT) the rule uses: 1x equity, inside the guard's order and exposure room."""
    cap = equity * MAX_NOTIONAL_TO_EQUITY
    if limits.max_order_pct is not None:
        cap = min(cap, equity * limits.max_order_pct / 100 * LIMIT_SAFETY)
    if limits.max_exposure_pct is not None:
        cap = min(cap, (equity * limits.max_exposure_pct / 100 - limits.open_exposure) * LIMIT_SAFETY)
    return max(cap, Decimal(0))


def decide(
    market: MarketView,
    equity: Decimal,
    position_contracts: Decimal,
    position_side: str | None,
    spec: Spec,
    limits: GuardLimits = GuardLimits(),
) -> Decision:
    """`position_contracts` is signed (+ long, - short); `position_side` is the OKX posSide of that position."""
    trend, spread_bps = trend_of(market)
    signal = signal_of(market)
    facts = f"EMA12 {market.ema_fast:.6g} vs EMA26 {market.ema_slow:.6g} (trend {trend}, {spread_bps:+.1f} bps), RSI14 {market.rsi:.1f}"
    held = "long" if position_contracts > 0 else "short" if position_contracts < 0 else None
    if held is not None:
        if signal == held:
            return Decision("hold", f"holding the {held} position: signal still {signal}; {facts}", 55)
        against = (
            (held == "long" and trend == "down")
            or (held == "short" and trend == "up")
            or (signal not in ("none", held))
        )
        if against:
            return Decision(
                "close",
                f"closing the {held} position: the trend turned against it; {facts}",
                60,
                close_pos_side=position_side,
            )
        return Decision("hold", f"holding the {held} position: no opposing trend yet; {facts}", 55)
    if signal == "none":
        why = "RSI filter" if trend != "flat" else "no clear trend"
        return Decision("none", f"no trade: {why}; {facts}", 50)
    if market.price <= 0 or spec.ct_val <= 0 or equity <= 0:
        return Decision("none", f"no trade: missing price, contract value or equity; {facts}", 50)
    if limits.daily_loss_latched:
        return Decision(
            "none", f"no trade: {signal} signal but the daily loss limit is reached (new exposure refused); {facts}", 50
        )
    stop_distance = market.price * STOP_DISTANCE
    by_risk = equity * RISK_FRACTION / (stop_distance * spec.ct_val)
    by_notional = max_notional(equity, limits) / (market.price * spec.ct_val)
    contracts = round_to_step(min(by_risk, by_notional), spec.lot_sz, ROUND_DOWN)
    if contracts < spec.min_sz or contracts <= 0:
        return Decision(
            "none", f"no trade: {signal} signal but size {contracts} is below minSz {spec.min_sz}; {facts}", 50
        )
    if signal == "long":
        stop = round_to_step(market.price - stop_distance, spec.tick_sz, ROUND_DOWN)
        take = round_to_step(market.price * (1 + TAKE_PROFIT_DISTANCE), spec.tick_sz, ROUND_UP)
    else:
        stop = round_to_step(market.price + stop_distance, spec.tick_sz, ROUND_UP)
        take = round_to_step(market.price * (1 - TAKE_PROFIT_DISTANCE), spec.tick_sz, ROUND_DOWN)
    confidence = int(min(85, 50 + 2 * abs(spread_bps)))
    leverage = LEVERAGE if limits.max_leverage is None else max(1, min(LEVERAGE, int(limits.max_leverage)))
    return Decision(
        f"open_{signal}",
        f"opening {signal}: {facts}",
        confidence,
        contracts,
        stop,
        take,  # type: ignore[arg-type]
        leverage=leverage,
    )


# ---------------------------------------------------------------- reading tool results


def _num(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value))
    except ArithmeticError:
        return None
    return result if result.is_finite() else None


def _first_dict(body: Any) -> dict[str, Any]:
    if isinstance(body, dict):
        for key in ("data", "items", "ticker", "instrument"):
            inner = body.get(key)
            if isinstance(inner, list) and inner and isinstance(inner[0], dict):
                return inner[0]
            if isinstance(inner, dict):
                return inner
        return body
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0]
    return {}


def find_equity(body: Any) -> Decimal | None:
    """Equity in USDT from a balance answer, whatever its nesting (totalEq, equity, eq of USDT, available...)."""
    for key in ("totalEq", "totalEquity", "equity", "eq", "adjEq"):
        found = _find_key(body, key)
        if found is not None and found > 0:
            return found
    for key in ("availEq", "availBal", "available", "cashBal"):
        found = _find_key(body, key)
        if found is not None and found > 0:
            return found
    return None


def _find_key(body: Any, key: str) -> Decimal | None:
    if isinstance(body, dict):
        if key in body:
            value = _num(body[key])
            if value is not None:
                return value
        for inner in body.values():
            found = _find_key(inner, key)
            if found is not None:
                return found
    elif isinstance(body, list):
        for inner in body:
            found = _find_key(inner, key)
            if found is not None:
                return found
    return None


def guard_limits(body: Any) -> GuardLimits:
    """GET /api/trade/risk -> GuardLimits; a missing part means no limit known."""
    limits = body.get("limits") if isinstance(body, dict) and isinstance(body.get("limits"), dict) else {}
    state = body.get("state") if isinstance(body, dict) and isinstance(body.get("state"), dict) else {}
    return GuardLimits(
        max_order_pct=_num(limits.get("maxOrderPct")),
        max_exposure_pct=_num(limits.get("maxExposurePct")),
        open_exposure=_num(state.get("openExposure")) or Decimal(0),
        max_leverage=_num(limits.get("maxLeverage")),
        daily_loss_latched=state.get("dailyLossLatched") is True,
    )


def signed_position(positions: Any, inst_id: str) -> tuple[Decimal, str | None]:
    rows = (
        positions.get("positions", [])
        if isinstance(positions, dict)
        else positions
        if isinstance(positions, list)
        else []
    )
    total = Decimal(0)
    side: str | None = None
    for row in rows:
        if not isinstance(row, dict) or row.get("instId") not in (None, inst_id):
            continue
        pos = _num(row.get("pos")) or Decimal(0)
        if pos == 0:
            continue
        pos_side = row.get("posSide") or "net"
        if pos_side == "short":
            pos = -abs(pos)
        elif pos_side == "long":
            pos = abs(pos)
        total += pos
        side = pos_side
    return total, side


# ---------------------------------------------------------------- the conversation protocol


@dataclass
class Reply:
    text: str | None = None
    tool_calls: list[tuple[str, dict[str, Any]]] | None = None


def _current_turn(messages: list[dict[str, Any]]) -> tuple[str, dict[str, tuple[str, dict[str, Any]]], dict[str, str]]:
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    question = str(messages[last_user].get("content") or "") if last_user >= 0 else ""
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    results: dict[str, str] = {}
    for message in messages[last_user + 1 :]:
        if message.get("role") == "assistant":
            for call in message.get("tool_calls") or []:
                fn = call.get("function") or {}
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except json.JSONDecodeError:
                    args = {}
                calls[call.get("id", "")] = (fn.get("name", ""), args if isinstance(args, dict) else {})
        elif message.get("role") == "tool":
            results[message.get("tool_call_id", "")] = str(message.get("content") or "")
    return question, calls, results


def _results_by_name(calls: dict[str, tuple[str, dict[str, Any]]], results: dict[str, str]) -> dict[str, str]:
    return {calls[cid][0]: text for cid, text in results.items() if cid in calls}


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None


def respond(messages: list[dict[str, Any]], tool_names: set[str], default_inst: str = "BTC-USDT-SWAP") -> Reply:
    question, calls, results = _current_turn(messages)
    match = INST_RE.search(question)
    inst_id = match.group(1) if match else default_inst
    by_name = _results_by_name(calls, results)
    if question.startswith(ANALYSIS_MARKER):
        return _analysis_reply(inst_id, tool_names, by_name)
    return _chat_reply(inst_id, question, tool_names, by_name)


def _analysis_reply(inst_id: str, tool_names: set[str], by_name: dict[str, str]) -> Reply:
    missing = [t for t in (*DATA_TOOLS, "place_order", "close_position") if t not in tool_names]
    if missing:
        return Reply(text=f"{LABEL} No action: the tools {', '.join(missing)} are not available.\nConfidence: 0")
    if not all(t in by_name for t in DATA_TOOLS):
        return Reply(
            tool_calls=[
                ("get_ticker", {"instId": inst_id}),
                ("get_candles", {"instId": inst_id, "limit": 100, "show": 0}),
                ("get_account_balance", {}),
                ("get_positions", {"instId": inst_id}),
                ("get_instrument", {"instId": inst_id}),
                ("get_risk_limits", {}),
            ]
        )
    failed = [name for name in DATA_TOOLS if _json(by_name[name]) is None]
    if failed:
        reasons = "; ".join(f"{n}: {by_name[n][:200]}" for n in failed)
        return Reply(text=f"{LABEL} No action on {inst_id}: could not read the data I need ({reasons}).\nConfidence: 0")
    ticker = _first_dict(_json(by_name["get_ticker"]))
    indicators = (_json(by_name["get_candles"]) or {}).get("indicators") or {}
    spec_row = _first_dict(_json(by_name["get_instrument"]))
    price = _num(ticker.get("last"))
    # Size against the equity the risk guard measures (USDT trading equity), not totalEq: totalEq also counts
    # coin holdings (e.g. spot BTC) that do not margin a USDT swap and would over-size every order.
    risk_state = (_json(by_name["get_risk_limits"]) or {}).get("state") or {}
    equity = _num(risk_state.get("equity")) if isinstance(risk_state, dict) else None
    equity = equity if equity is not None and equity > 0 else find_equity(_json(by_name["get_account_balance"]))
    if (
        price is None
        or indicators.get("ema12") is None
        or indicators.get("ema26") is None
        or indicators.get("rsi14") is None
    ):
        return Reply(text=f"{LABEL} No action on {inst_id}: not enough market history for EMA26/RSI14.\nConfidence: 0")
    market = MarketView(price, float(indicators["ema12"]), float(indicators["ema26"]), float(indicators["rsi14"]))
    spec = Spec(
        ct_val=_num(spec_row.get("ctVal")) or Decimal(1),
        lot_sz=_num(spec_row.get("lotSz")) or Decimal(1),
        min_sz=_num(spec_row.get("minSz")) or Decimal(1),
        tick_sz=_num(spec_row.get("tickSz")) or Decimal("0.01"),
    )
    contracts, side = signed_position(_json(by_name["get_positions"]), inst_id)
    decision = decide(
        market, equity or Decimal(0), contracts, side, spec, guard_limits(_json(by_name["get_risk_limits"]))
    )
    trade_tool = (
        "place_order"
        if decision.action.startswith("open_")
        else "close_position"
        if decision.action == "close"
        else None
    )
    if trade_tool is not None and trade_tool not in by_name:
        if trade_tool == "place_order":
            return Reply(
                tool_calls=[
                    (
                        "place_order",
                        {
                            "instId": inst_id,
                            "side": "buy" if decision.action == "open_long" else "sell",
                            "ordType": "market",
                            "sz": _plain(decision.contracts),
                            "leverage": decision.leverage,
                            "tdMode": "cross",
                            "slTriggerPx": _plain(decision.stop_px),
                            "tpTriggerPx": _plain(decision.take_px),
                        },
                    )
                ]
            )
        args: dict[str, Any] = {"instId": inst_id}
        if decision.close_pos_side in ("long", "short"):
            args["posSide"] = decision.close_pos_side
        return Reply(tool_calls=[("close_position", args)])
    summary = _summary(inst_id, decision, price, by_name.get(trade_tool) if trade_tool else None)
    if DECISION_TOOL in tool_names and DECISION_TOOL not in by_name:
        return Reply(text=summary, tool_calls=[(DECISION_TOOL, structured_decision(inst_id, decision, price, summary))])
    return Reply(text=summary)


def structured_decision(inst_id: str, decision: Decision, price: Decimal, summary: str) -> dict[str, Any]:
    """The rule's decision in the schema of agent.decision (submit_decision's arguments)."""
    action = {"none": "no_trade"}.get(decision.action, decision.action)
    confidence = CONFIDENCE_LINE.findall(summary)
    is_open = decision.action.startswith("open_")
    return {
        "action": action,
        "instId": inst_id,
        "size": _plain(decision.contracts) if is_open else None,
        "entry": _plain(price) if is_open else None,
        "stop": _plain(decision.stop_px),
        "target": _plain(decision.take_px),
        "invalidation": (
            "EMA12 crosses back over EMA26 against the position" if is_open or decision.action == "hold" else None
        ),
        "confidence": int(confidence[-1]) if confidence else decision.confidence,
        "reason": decision.reason[:1000],
    }


DECISION_TOOL = (
    "submit_decision"  # agent.decision.DECISION_TOOL (not imported: the offline model is a separate "server")
)
CONFIDENCE_LINE = re.compile(r"^Confidence: (\d+)$", re.MULTILINE)


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _summary(inst_id: str, decision: Decision, price: Decimal, trade_result: str | None) -> str:
    lines = [f"{LABEL} {inst_id} at {_plain(price)}: {decision.reason}."]
    confidence = decision.confidence
    outcome = _json(trade_result or "")
    status = outcome.get("status") if isinstance(outcome, dict) else None
    if decision.action.startswith("open_"):
        side = "long" if decision.action == "open_long" else "short"
        plan = (
            f"exit plan: stop-loss {_plain(decision.stop_px)}, take-profit {_plain(decision.take_px)} "
            f"(risk about {RISK_FRACTION * 100}% of equity)"
        )
        if status in ("placed", "duplicate"):
            lines.append(
                f"Placed a market {side} of {_plain(decision.contracts)} contracts at {decision.leverage}x "
                f"(order {outcome.get('clOrdId')}, {outcome.get('state')}); {plan}."
            )
        elif status == "pending_approval":
            lines.append(
                f"Asked for a market {side} of {_plain(decision.contracts)} contracts at {decision.leverage}x; it awaits "
                f"approval {outcome.get('approvalId')} (not placed yet); {plan}."
            )
        else:
            lines.append(
                f"Wanted a {side} of {_plain(decision.contracts)} contracts but the order was not placed: {(trade_result or '')[:300]}"
            )
            confidence = 0
    elif decision.action == "close":
        if status in ("placed", "duplicate"):
            lines.append(f"Closed the position at market (order {outcome.get('clOrdId')}).")
        elif status == "pending_approval":
            lines.append(f"Asked to close the position; it awaits approval {outcome.get('approvalId')}.")
        else:
            lines.append(f"Closing failed: {(trade_result or '')[:300]}")
            confidence = 0
    elif decision.action == "hold":
        lines.append("No order: the existing position keeps its exit plan.")
    else:
        lines.append("No order.")
    lines.append(f"Confidence: {confidence}")
    return "\n".join(lines)


def _chat_reply(inst_id: str, question: str, tool_names: set[str], by_name: dict[str, str]) -> Reply:
    if not {"get_ticker", "get_candles"} <= tool_names:
        return Reply(text=f"{LABEL} I can only describe the market when the market tools are available.")
    if "get_ticker" not in by_name or "get_candles" not in by_name:
        return Reply(
            tool_calls=[
                ("get_ticker", {"instId": inst_id}),
                ("get_candles", {"instId": inst_id, "limit": 100, "show": 0}),
            ]
        )
    ticker = _first_dict(_json(by_name["get_ticker"]))
    indicators = (_json(by_name["get_candles"]) or {}).get("indicators") or {}
    price = ticker.get("last")
    if price is None or indicators.get("ema12") is None or indicators.get("rsi14") is None:
        return Reply(text=f"{LABEL} I could not read the market for {inst_id}: {by_name['get_ticker'][:200]}")
    market = MarketView(
        Decimal(str(price)), float(indicators["ema12"]), float(indicators["ema26"]), float(indicators["rsi14"])
    )
    trend, spread = trend_of(market)
    signal = signal_of(market)
    return Reply(
        text=(
            f"{LABEL} {inst_id} last {price}. EMA12 {market.ema_fast:.6g}, EMA26 {market.ema_slow:.6g} "
            f"(trend {trend}, {spread:+.1f} bps), RSI14 {market.rsi:.1f}. The offline rule's signal is {signal}. "
            "I am a fixed rule, not a language model: I do not place orders from chat; the strategy runs do."
        )
    )
