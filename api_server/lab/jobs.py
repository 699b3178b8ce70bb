"""One backtest from the database to the database: the work a `make lab-worker` job (or `make backtest`) does,
and the cost estimate every backtest shows before it starts."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from psycopg_pool import AsyncConnectionPool

from api_server.lab import store
from api_server.lab.candles import CandleRow
from api_server.lab.engine import BacktestInput, BacktestOutput, Progress, market_fraction, run_backtest, trigger_config
from api_server.lab.llm_cache import LlmCache
from api_server.lab.market import path_points
from api_server.lab.metrics import compute_metrics
from api_server.lab.profiles import ProfileSpec
from api_server.scheduler.replay import replay
from okxsim.instruments import SPECS, InstrumentSpec
from shared.instruments import bar_ms

log = logging.getLogger("aitrader.lab")

# Tokens of one analysis (the context, two or three model calls with the tool results), for the estimate only;
# measured on a 7-day XRP backtest (779 analyses, offline model, chars/4): 19,438 input and 129 output tokens per
# analysis (the 14 tool schemas are resent with each of the 2-3 model calls). Override with LAB_EST_*_TOKENS.
TOKENS_IN_PER_ANALYSIS = int(os.environ.get("LAB_EST_INPUT_TOKENS", "19500"))
TOKENS_OUT_PER_ANALYSIS = int(os.environ.get("LAB_EST_OUTPUT_TOKENS", "300"))


class LabInputError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def instrument_spec(inst_id: str) -> InstrumentSpec:
    spec = SPECS.get(inst_id)
    if spec is None:
        raise LabInputError("instId", f"no instrument specs for {inst_id} (known: {', '.join(sorted(SPECS))})")
    return spec


def price_per_mtok(provider: str) -> tuple[float, float]:
    if provider == "offline":
        return 0.0, 0.0
    return (
        float(os.environ.get("LLM_PRICE_INPUT_PER_MTOK", "0.27")),
        float(os.environ.get("LLM_PRICE_OUTPUT_PER_MTOK", "1.10")),
    )


def estimate(spec: ProfileSpec, candles: Sequence[CandleRow], bar: str) -> dict[str, Any]:
    """Runs from a trigger replay of the same decisions over the same path × tokens per analysis × price."""
    ticks = [(p.ts / 1000, p.price) for p in path_points(candles, bar_ms(bar))]
    result = replay({"x": ticks}, trigger_config(spec), analysis_secs=0.0)
    runs = len(result.runs)
    price_in, price_out = price_per_mtok(spec.llm.provider)
    cost = runs * (TOKENS_IN_PER_ANALYSIS * price_in + TOKENS_OUT_PER_ANALYSIS * price_out) / 1_000_000
    return {
        "runs": runs,
        "costUsd": round(cost, 6),
        "runsBySource": result.totals(),
        "tokensPerAnalysis": {"input": TOKENS_IN_PER_ANALYSIS, "output": TOKENS_OUT_PER_ANALYSIS},
        "pricePerMTok": {"input": price_in, "output": price_out},
    }


def build_input(
    inst_id: str,
    bar: str,
    candles: Sequence[CandleRow],
    spec: ProfileSpec,
    params: Mapping[str, Any],
    initial_equity: Decimal,
) -> BacktestInput:
    def pct(name: str, default: str) -> Decimal:
        return Decimal(str(params.get(name, default))) / 100

    return BacktestInput(
        inst_id=inst_id,
        bar=bar,
        candles=candles,
        spec=spec,
        instrument=instrument_spec(inst_id),
        initial_equity=initial_equity,
        taker_rate=pct("feeTakerPct", "0.05"),
        maker_rate=pct("feeMakerPct", "0.02"),
        slippage_bps=Decimal(str(params.get("slippageBps", 0))),
        funding_rate=Decimal(str(params.get("fundingRate", 0))),
        funding_series=[(int(ts), Decimal(str(rate))) for ts, rate in params.get("fundingSeries") or []],
        budget_usd=None if params.get("budgetUsd") is None else float(params["budgetUsd"]),
    )


def metrics_of(out: BacktestOutput, bar: str) -> dict[str, Any]:
    metrics = compute_metrics(
        equity=out.equity,
        fills=out.fills,
        runs=out.runs,
        start_equity=out.start_equity,
        end_equity=out.end_equity,
        first_price=out.first_price,
        last_price=out.last_price,
        start_ts=out.start_ts,
        end_ts=out.end_ts,
        bar_ms=bar_ms(bar),
        fees=out.fees,
        funding=out.funding,
        exposure_ms=out.exposure_ms,
        cost_usd=out.cost_usd,
        input_tokens=out.input_tokens,
        output_tokens=out.output_tokens,
        liquidations=out.liquidations,
    )
    metrics["wallSecs"] = round(out.wall_secs, 3)
    metrics["speedup"] = round((out.end_ts - out.start_ts) / 1000 / out.wall_secs, 1) if out.wall_secs > 0 else None
    metrics["timingSecs"] = {k: round(v, 3) for k, v in out.timings.items()}
    metrics["llmCacheHits"] = out.cache_hits
    metrics["agentBar"] = out.bar_used
    return metrics


async def execute(
    pool: AsyncConnectionPool,
    backtest_id: str,
    worker: str,
    *,
    final_attempt: bool = True,
    on_progress: Callable[[Progress], Awaitable[None]] | None = None,
) -> dict[str, Any] | None:
    """Run a stored backtest to its end; returns the stored row (None when it was canceled before starting).

    Any failure leaves no result rows (they are only written with the terminal status) and re-raises, so the
    queue retries the job; the last attempt marks the backtest failed.
    """
    row = await store.start_attempt(pool, backtest_id, worker)
    if row is None:
        return None
    try:
        dataset = await store.get_dataset(pool, row["dataset_id"])
        candles = await store.load_candles(pool, row["dataset_id"])
        profile = await store.get_profile(pool, row["profile_name"], row["profile_version"])
        spec = store.profile_spec(profile)
        inp = build_input(row["inst_id"], dataset["bar"], candles, spec, row["params"], Decimal(row["start_equity"]))
        cache = LlmCache(pool) if spec.llm.provider != "offline" else None

        async def progress(p: Progress) -> None:
            await store.report_progress(pool, backtest_id, p.fraction, p.sim_ts, p.runs, p.cost_usd)
            if on_progress is not None:
                await on_progress(p)

        async def canceled() -> bool:
            return await store.cancel_requested(pool, backtest_id)

        out = await run_backtest(inp, cache=cache, on_progress=progress, should_cancel=canceled)
        status = "canceled" if out.partial_reason == "canceled" else "succeeded"
        await store.finish_backtest(
            pool,
            backtest_id,
            status=status,
            metrics=metrics_of(out, dataset["bar"]),
            end_equity=out.end_equity,
            progress=1.0 if not out.partial else market_fraction(out, candles),
            sim_ts=out.end_ts,
            partial=out.partial,
            partial_reason=out.partial_reason,
            equity=out.equity,
            fills=out.fills,
            runs=out.runs,
            cost_usd=out.cost_usd,
        )
        log.info(
            "backtest %s %s: %d runs, %d fills, equity %.2f → %.2f in %.1f s",
            backtest_id,
            status,
            len(out.runs),
            len(out.fills),
            out.start_equity,
            out.end_equity,
            out.wall_secs,
        )
    except Exception as exc:
        log.exception("backtest %s failed", backtest_id)
        await store.fail_backtest(pool, backtest_id, f"{type(exc).__name__}: {exc}", final=final_attempt)
        raise
    return await store.get_backtest(pool, backtest_id)
