"""`make backtest ARGS="--file PATH --inst-id ID [--bar 5m] [--profile NAME[@VERSION]] [--initial-equity N] [--json OUT]"`.

Runs one backtest in the foreground with a progress bar and prints its metrics. With DATABASE_URL set, the dataset,
the profile and the result are in PostgreSQL (the result is then also `GET /api/lab/backtests/{id}`); without one it
runs in memory with the profile built from the environment. `--json` writes the shape of `GET /api/lab/backtests/{id}`
plus `equity`, `fills` and `runs`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as Bar

from api_server.lab import store
from api_server.lab.candles import CandleRowError, check_bar, infer_bar_ms, parse_file_text
from api_server.lab.engine import Progress, run_backtest
from api_server.lab.jobs import LabInputError, build_input, estimate, metrics_of
from api_server.lab.profiles import DEFAULT_PROFILE, spec_from_env, spec_json
from shared.envfile import load_environment
from shared.instruments import CANDLE_BARS, bar_ms, is_valid_inst_id

console = Console(stderr=True)


def _bar_name(ms: int) -> str | None:
    return next((b for b in CANDLE_BARS if not b.endswith("utc") and bar_ms(b) == ms), None)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="make backtest", description="Backtest a strategy profile over a candle file.")
    p.add_argument("--file", required=True, type=Path, help="candle file: freqtrade JSON, OKX candle JSON or CSV")
    p.add_argument("--inst-id", required=True, help="instrument, e.g. XRP-USDT-SWAP")
    p.add_argument("--bar", default=None, help="the file's bar (default: inferred from the timestamps)")
    p.add_argument(
        "--profile", default=DEFAULT_PROFILE, help="NAME or NAME@VERSION (database); default: from the environment"
    )
    p.add_argument("--initial-equity", default="10000", help="USDT (10000)")
    p.add_argument("--slippage-bps", default="0")
    p.add_argument("--fee-taker-pct", default="0.05")
    p.add_argument("--fee-maker-pct", default="0.02")
    p.add_argument("--funding-rate", default="0", help="constant funding rate per 8 h (0)")
    p.add_argument("--budget-usd", default=None, help="stop at this LLM cost; results marked partial")
    p.add_argument("--force", action="store_true", help="start even when the estimate exceeds the budget")
    p.add_argument("--json", dest="json_out", type=Path, default=None, help="write the result as JSON here")
    return p.parse_args(argv)


async def amain(args: argparse.Namespace) -> int:
    env = load_environment()
    if not is_valid_inst_id(args.inst_id):
        console.print(f"[red]--inst-id: {args.inst_id!r} is not an OKX instrument id")
        return 2
    try:
        rows = parse_file_text(args.file.read_text(), str(args.file))
        bar = args.bar or _bar_name(infer_bar_ms(rows) or 60_000) or "1m"
        check_bar(rows, bar)
        equity0 = Decimal(args.initial_equity)
    except OSError as exc:
        console.print(f"[red]--file: cannot read {args.file}: {exc.strerror}")
        return 2
    except (CandleRowError, InvalidOperation) as exc:
        console.print(f"[red]{args.file}: {exc}")
        return 2
    params: dict[str, Any] = {
        "feeTakerPct": float(args.fee_taker_pct),
        "feeMakerPct": float(args.fee_maker_pct),
        "slippageBps": float(args.slippage_bps),
        "fundingRate": float(args.funding_rate),
        "budgetUsd": None if args.budget_usd is None else float(args.budget_usd),
    }
    name, _, version = args.profile.partition("@")
    pool = None
    if env.get("DATABASE_URL"):
        from api_server.db import open_pool

        pool = await open_pool(env["DATABASE_URL"], max_size=3)
        await store.ensure_default_profile(pool, env)
        profile = await store.get_profile(pool, name, int(version) if version else None)
        if profile is None:
            console.print(f"[red]--profile: no profile {args.profile}")
            return 2
        spec = store.profile_spec(profile)
    else:
        if name != DEFAULT_PROFILE or version:
            console.print("[red]--profile: named profiles need DATABASE_URL")
            return 2
        spec, profile = spec_from_env(env), {"name": DEFAULT_PROFILE, "version": 1}
    try:
        est = estimate(spec, rows, bar)
        inp = build_input(args.inst_id, bar, rows, spec, params, equity0)
    except LabInputError as exc:
        console.print(f"[red]--{exc.field}: {exc}")
        return 2
    console.print(f"estimate: {est['runs']} analyses, ${est['costUsd']:.4f} ({spec.llm.provider})")
    if params["budgetUsd"] is not None and est["costUsd"] > params["budgetUsd"] and not args.force:
        console.print(
            f"[red]the estimate ${est['costUsd']:.4f} exceeds --budget-usd {params['budgetUsd']}: "
            "pass --force to start anyway (it stops at the budget)"
        )
        return 3
    with Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        console=console,
    ) as bar_ui:
        task = bar_ui.add_task("backtest", total=1.0, info="")

        async def show(p: Progress) -> None:
            from datetime import datetime

            when = datetime.fromtimestamp(p.sim_ts / 1000, UTC).strftime("%Y-%m-%d %H:%M")
            bar_ui.update(task, completed=p.fraction, info=f"{when}  runs {p.runs}  ${p.cost_usd:.4f}")

        if pool is not None:
            from api_server.lab.jobs import execute

            dataset = await store.insert_dataset(pool, args.inst_id, bar, f"file:{args.file}", rows)
            backtest_id = await store.create_backtest(
                pool, profile=profile, dataset=dataset, params=params, estimate=est, start_equity=equity0
            )
            row = await execute(pool, backtest_id, "cli", on_progress=show)
            result = store.backtest_view(row)
            result |= {
                "equity": await store.equity_points(pool, backtest_id),
                "fills": await store.fills_of(pool, backtest_id),
                "runs": await store.runs_of(pool, backtest_id),
            }
            await pool.close()
        else:
            out = await run_backtest(inp, on_progress=show)
            result = {
                "id": None,
                "status": "canceled" if out.partial_reason == "canceled" else "succeeded",
                "progress": 1.0,
                "profile": profile["name"],
                "profileVersion": profile["version"],
                "instId": args.inst_id,
                "startEquity": out.start_equity,
                "endEquity": out.end_equity,
                "metrics": metrics_of(out, bar),
                "partial": out.partial,
                "partialReason": out.partial_reason,
                "estimate": est,
                "params": params,
                "profileSpec": spec_json(spec),
                "equity": [{"ts": t, "equity": e} for t, e in out.equity],
                "fills": [f.as_json() for f in out.fills],
                "runs": out.runs,
            }
    print_summary(result)
    if args.json_out:
        args.json_out.write_text(json.dumps(result, default=str, indent=1))
        console.print(f"wrote {args.json_out}")
    return 0


def print_summary(result: dict[str, Any]) -> None:
    m = result.get("metrics") or {}

    def pct(v: Any) -> str:
        return "n/a" if v is None else f"{v * 100:+.2f} %"

    def num(v: Any, fmt: str = "{:.2f}") -> str:
        return "n/a" if v is None else fmt.format(v)

    lines = [
        f"backtest {result.get('id') or '(in memory)'}: {result['status']}{' (partial: ' + str(result.get('partialReason')) + ')' if result.get('partial') else ''}",
        f"profile {result['profile']}@{result['profileVersion']}  {result['instId']}  equity {result['startEquity']:.2f} → {result['endEquity']:.2f}",
        f"total return {pct(m.get('totalReturn'))}   buy & hold {pct(m.get('buyHoldReturn'))}   max drawdown {pct(m.get('maxDrawdown'))}",
        f"Sharpe {num(m.get('sharpe'))}   Sortino {num(m.get('sortino'))}   ({m.get('annualisation')})",
        f"trades {m.get('trades')}   win rate {pct(m.get('winRate'))}   profit factor {num(m.get('profitFactor'))}   avg trade {num(m.get('avgTrade'))} USDT",
        f"exposure {pct(m.get('exposure'))}   fees {num(m.get('fees'))} USDT   funding {num(m.get('funding'))} USDT   liquidations {m.get('liquidations')}",
        f"runs {m.get('runs')} {m.get('runsBySource')}   LLM ${num(m.get('llmCostUsd'), '{:.4f}')}  tokens in {m.get('llmInputTokens')} out {m.get('llmOutputTokens')}",
        f"wall {m.get('wallSecs')} s  simulated/wall {m.get('speedup')}x  time {m.get('timingSecs')}",
    ]
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(amain(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
