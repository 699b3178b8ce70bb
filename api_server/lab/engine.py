"""The backtest engine: a simulated clock walks the candle path; the scheduler's own decision core decides when
the agent runs; the agent's real loop trades through the lab API (risk guard, simulator matching engine).

Time model. Path points (see `market.py`) arrive in time order. Before each point the engine handles every
schedule deadline that falls before it (`decisions.next_wakeup` / `on_deadline`), at the deadline's own time
with the market as it stood (the last point seen). Then the point moves the exchange (fills, TP/SL, funding,
liquidation) and goes to `decisions.on_tick` (volatility trigger). An analysis runs at the moment its trigger
starts and takes no simulated time: the market is frozen while the agent thinks, and its orders fill at that
moment's price ± slippage. (Live, an analysis takes seconds to a minute; the fill price then differs by that
minute's move. Model it as extra slippage.) One analysis at a time, one instrument per backtest.

Isolation: everything lives in this object and the backtest's own rows; nothing touches live records, orders,
memory or the live scheduler state.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from api_server.lab.agent_runner import LabAgent, RunOutcome
from api_server.lab.candles import CandleRow
from api_server.lab.exchange import LabExchange, LabFill
from api_server.lab.facade import LabTradingApi
from api_server.lab.llm_cache import LlmCache
from api_server.lab.market import MarketView, path_points
from api_server.lab.profiles import ProfileSpec
from api_server.scheduler.decisions import (
    SymbolState,
    TriggerConfig,
    next_wakeup,
    on_deadline,
    on_run_finished,
    on_run_started,
    on_startup,
    on_tick,
)
from okxsim.engine import MAKER_RATE, TAKER_RATE
from okxsim.instruments import InstrumentSpec
from shared.instruments import bar_ms as bar_length_ms

TOOL_RESULT_KEEP_CHARS = 400


@dataclass(frozen=True)
class BacktestInput:
    inst_id: str
    bar: str
    candles: Sequence[CandleRow]
    spec: ProfileSpec
    instrument: InstrumentSpec
    initial_equity: Decimal
    taker_rate: Decimal = TAKER_RATE
    maker_rate: Decimal = MAKER_RATE
    slippage_bps: Decimal = Decimal(0)
    funding_rate: Decimal = Decimal(0)
    funding_series: Sequence[tuple[int, Decimal]] = ()
    budget_usd: float | None = None


@dataclass
class Progress:
    fraction: float
    sim_ts: int
    runs: int
    cost_usd: float
    wall_secs: float


@dataclass
class BacktestOutput:
    equity: list[tuple[int, float]] = field(default_factory=list)
    fills: list[LabFill] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    partial: bool = False
    partial_reason: str | None = None
    start_equity: float = 0.0
    end_equity: float = 0.0
    first_price: float = 0.0
    last_price: float = 0.0
    start_ts: int = 0
    end_ts: int = 0
    fees: float = 0.0
    funding: float = 0.0
    exposure_ms: int = 0
    liquidations: int = 0
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    wall_secs: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    api_calls: dict[str, int] = field(default_factory=dict)
    cache_hits: int = 0
    bar_used: str = ""


ProgressSink = Callable[[Progress], Awaitable[None]]
CancelCheck = Callable[[], Awaitable[bool]]


def trigger_config(spec: ProfileSpec) -> TriggerConfig:
    v, s = spec.volatility, spec.schedule
    return TriggerConfig(
        vol_enabled=v.enabled,
        threshold_bps=Decimal(str(v.threshold_bps)),
        schedule_enabled=s.enabled,
        interval_secs=float(s.interval_secs),
        window_secs=None if v.window_secs is None else float(v.window_secs),
    )


def agent_bar(profile_bar: str, dataset_bar: str) -> str:
    """The profile's bar when the dataset can build it (a whole multiple of the dataset's bar), else the dataset's."""
    return profile_bar if bar_length_ms(profile_bar) % bar_length_ms(dataset_bar) == 0 else dataset_bar


async def run_backtest(
    inp: BacktestInput,
    *,
    cache: LlmCache | None = None,
    on_progress: ProgressSink | None = None,
    should_cancel: CancelCheck | None = None,
    progress_every_secs: float = 0.5,
) -> BacktestOutput:
    wall_start = time.perf_counter()
    candles = inp.candles
    length = bar_length_ms(inp.bar)
    market = MarketView(inp.inst_id, candles, inp.bar, length)
    exchange = LabExchange(
        inp.instrument,
        inp.initial_equity,
        taker_rate=inp.taker_rate,
        maker_rate=inp.maker_rate,
        slippage_bps=inp.slippage_bps,
        funding_rate=inp.funding_rate,
        funding_series=inp.funding_series,
    )
    api = LabTradingApi(exchange, market, inp.spec.risk_limits(inp.inst_id), inp.initial_equity)
    bar = agent_bar(inp.spec.bar, inp.bar)
    agent = LabAgent(
        api, inp.spec.llm, bar, **({"system_prompt": inp.spec.prompt} if inp.spec.prompt else {}), cache=cache
    )
    await agent.start()
    cfg = trigger_config(inp.spec)
    out = BacktestOutput(
        start_equity=float(inp.initial_equity), first_price=float(candles[0].open), start_ts=candles[0].ts, bar_used=bar
    )
    timings = {"agent": 0.0, "market": 0.0}
    total_points = 4 * len(candles)
    state = SymbolState()
    stop: str | None = None
    last_report = wall_start

    async def run_once(now: float) -> None:
        nonlocal state, stop
        price = exchange.last
        state, start = on_run_started(state, now, price)
        # Deterministic ids: the context shows the run id, so a random one would defeat the LLM cache on rerun.
        run_id = f"run-{len(out.runs) + 1:05d}"
        started = time.perf_counter()
        outcome: RunOutcome = await agent.analyse(
            run_id,
            start.source,
            _plain(start.trigger_price),
            _plain(start.baseline_price),
            float(start.deviation_bps) if start.deviation_bps is not None else None,
        )
        timings["agent"] += time.perf_counter() - started
        state = on_run_finished(state, now, outcome.ok, cfg)
        out.cost_usd += outcome.cost_usd
        out.input_tokens += outcome.usage.input_tokens
        out.output_tokens += outcome.usage.output_tokens
        out.runs.append(_run_record(len(out.runs), run_id, inp.inst_id, start, now, outcome))
        if inp.budget_usd is not None and out.cost_usd >= inp.budget_usd:
            stop = "budget"

    async def drain(now: float) -> None:
        while state.pending is not None and stop is None:
            await run_once(now)

    try:
        for n, point in enumerate(path_points(candles, length)):
            now = point.ts / 1000
            if n == 0:
                market.advance(point)
                exchange.move_to(point.ts, point.price)
                state, _ = on_startup(state, now, cfg)
                await drain(now)
                continue
            while stop is None:
                wake = next_wakeup({inp.inst_id: state}, now, cfg)
                if wake is None or wake > now:
                    break
                wake_ms = int(wake * 1000)
                market.now_ms = exchange.now_ms = max(market.now_ms, wake_ms)
                state, decision = on_deadline(state, wake, cfg, exchange.last)
                if decision is None:
                    break
                await drain(wake)
            if stop is not None:
                break
            t0 = time.perf_counter()
            market.advance(point)
            exchange.move_to(point.ts, point.price)
            state, decision = on_tick(state, point.price, now, cfg)
            timings["market"] += time.perf_counter() - t0
            if decision is not None:
                await drain(now)
            if point.step == 3:
                out.equity.append((point.ts, float(exchange.equity())))
            if stop is None and (n & 255) == 0:
                wall = time.perf_counter()
                if should_cancel is not None and await should_cancel():
                    stop = "canceled"
                if on_progress is not None and wall - last_report >= progress_every_secs:
                    last_report = wall
                    await on_progress(
                        Progress(n / total_points, point.ts, len(out.runs), out.cost_usd, wall - wall_start)
                    )
            if stop is not None:
                break
    finally:
        await agent.close()
    out.partial = stop is not None
    out.partial_reason = stop
    out.fills = exchange.fills
    out.end_equity = float(exchange.equity())
    out.last_price = float(exchange.last)
    out.end_ts = market.now_ms
    out.fees = float(-exchange.fees_paid)
    out.funding = float(exchange.funding_paid)
    out.exposure_ms = exchange.exposure_ms
    out.liquidations = exchange.liquidations
    out.wall_secs = time.perf_counter() - wall_start
    timings["other"] = max(out.wall_secs - timings["agent"] - timings["market"], 0.0)
    timings.update({f"agent.{k}": v for k, v in agent.timings.items()})
    timings["agent.api"] = api.api_secs
    out.timings = timings
    out.api_calls = dict(api.calls)
    out.cache_hits = cache.hits if cache is not None else 0
    if on_progress is not None:
        await on_progress(
            Progress(
                1.0 if not out.partial else market_fraction(out, candles),
                out.end_ts,
                len(out.runs),
                out.cost_usd,
                out.wall_secs,
            )
        )
    return out


def market_fraction(out: BacktestOutput, candles: Sequence[CandleRow]) -> float:
    span = candles[-1].ts - candles[0].ts
    return min(1.0, max(0.0, (out.end_ts - candles[0].ts) / span)) if span > 0 else 1.0


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _run_record(seq: int, run_id: str, inst_id: str, start: Any, now: float, outcome: RunOutcome) -> dict[str, Any]:
    calls = [{**c, "result": (c.get("result") or "")[:TOOL_RESULT_KEEP_CHARS]} for c in outcome.tool_calls]
    return {
        "seq": seq,
        "id": run_id,
        "instId": inst_id,
        "source": start.source,
        "status": "succeeded" if outcome.ok else "failed",
        "triggeredAt": int(start.triggered_at * 1000),
        "finishedAt": int(now * 1000),
        "triggerPrice": _plain(start.trigger_price),
        "baselinePrice": _plain(start.baseline_price),
        "deviationBps": float(start.deviation_bps) if start.deviation_bps is not None else None,
        "error": outcome.error,
        "summary": outcome.summary,
        "confidence": outcome.confidence,
        "decision": outcome.decision,
        "toolCalls": calls,
        "orders": outcome.orders,
        "inputTokens": outcome.usage.input_tokens,
        "outputTokens": outcome.usage.output_tokens,
        "costUsd": round(outcome.cost_usd, 8),
    }
