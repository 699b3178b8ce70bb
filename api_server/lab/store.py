"""The lab's SQL: datasets, profiles, backtests and their results (tables of migration 0040_lab).

A backtest's results (equity, fills, runs, metrics) are written in ONE transaction together with its terminal
status, so a reader sees either no result or the whole result; a retried attempt first deletes whatever an
earlier attempt may have left (there is none: the earlier attempt never committed its results).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from api_server.lab.candles import CandleRow, content_hash
from api_server.lab.profiles import DEFAULT_PROFILE, ProfileSpec, decode_spec, spec_from_env, spec_json


def _row(row: Any) -> dict[str, Any]:
    return dict(row) if row is not None else None  # type: ignore[return-value]


# ---- datasets ------------------------------------------------------------------------------


async def insert_dataset(
    pool: AsyncConnectionPool, inst_id: str, bar: str, source: str, rows: Sequence[CandleRow]
) -> dict[str, Any]:
    digest = content_hash(inst_id, bar, rows)
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute("select * from lab_datasets where content_hash = %s", (digest,))
        existing = await cur.fetchone()
        if existing is not None:
            return _row(existing)
        dataset_id = f"ds-{uuid.uuid4().hex[:12]}"
        cur = await conn.execute(
            "insert into lab_datasets (id, inst_id, bar, source, row_count, from_ts, to_ts, content_hash)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s) on conflict (content_hash) do nothing returning *",
            (dataset_id, inst_id, bar, source, len(rows), rows[0].ts, rows[-1].ts, digest),
        )
        created = await cur.fetchone()
        if created is None:  # imported concurrently by another request
            cur = await conn.execute("select * from lab_datasets where content_hash = %s", (digest,))
            return _row(await cur.fetchone())
        async with conn.cursor().copy("copy lab_candles (dataset_id, ts, o, h, l, c, v) from stdin") as copy:
            for r in rows:
                await copy.write_row((dataset_id, r.ts, r.open, r.high, r.low, r.close, r.volume))
        return _row(created)


async def get_dataset(pool: AsyncConnectionPool, dataset_id: str) -> dict[str, Any] | None:
    async with pool.connection() as conn:
        cur = await conn.execute("select * from lab_datasets where id = %s", (dataset_id,))
        return _row(await cur.fetchone())


async def list_datasets(pool: AsyncConnectionPool) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute("select * from lab_datasets order by created_at desc limit 500")
        return [dict(r) for r in await cur.fetchall()]


async def load_candles(pool: AsyncConnectionPool, dataset_id: str) -> list[CandleRow]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select ts, o, h, l, c, v from lab_candles where dataset_id = %s order by ts", (dataset_id,)
        )
        rows = await cur.fetchall()
    return [CandleRow(r["ts"], r["o"], r["h"], r["l"], r["c"], r["v"]) for r in rows]


# ---- profiles ------------------------------------------------------------------------------


async def ensure_default_profile(pool: AsyncConnectionPool, env: Mapping[str, str]) -> None:
    """With no profile at all, version 1 of `default` is built from the environment."""
    async with pool.connection() as conn:
        cur = await conn.execute("select 1 from lab_profiles limit 1")
        if await cur.fetchone() is None:
            await conn.execute(
                "insert into lab_profiles (name, version, spec) values (%s, 1, %s) on conflict do nothing",
                (DEFAULT_PROFILE, Jsonb(spec_json(spec_from_env(env)))),
            )


async def create_profile_version(pool: AsyncConnectionPool, name: str, spec: ProfileSpec) -> dict[str, Any]:
    """Insert the next version of `name` (serialised per name by an advisory lock). An unchanged spec is not a new
    version: the newest one is returned with `created: false`."""
    body = spec_json(spec)
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("select pg_advisory_xact_lock(hashtext('lab_profiles:' || %s))", (name,))
        cur = await conn.execute(
            "select version, spec from lab_profiles where name = %s order by version desc limit 1", (name,)
        )
        newest = await cur.fetchone()
        if newest is not None and newest["spec"] == body:
            return {"name": name, "version": newest["version"], "created": False}
        version = 1 if newest is None else newest["version"] + 1
        await conn.execute(
            "insert into lab_profiles (name, version, spec) values (%s, %s, %s)", (name, version, Jsonb(body))
        )
    return {"name": name, "version": version, "created": True}


async def get_profile(pool: AsyncConnectionPool, name: str, version: int | None = None) -> dict[str, Any] | None:
    async with pool.connection() as conn:
        if version is None:
            cur = await conn.execute(
                "select * from lab_profiles where name = %s order by version desc limit 1", (name,)
            )
        else:
            cur = await conn.execute("select * from lab_profiles where name = %s and version = %s", (name, version))
        return _row(await cur.fetchone())


async def list_profiles(pool: AsyncConnectionPool) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select distinct on (name) name, version, spec, created_at from lab_profiles order by name, version desc"
        )
        return [dict(r) for r in await cur.fetchall()]


async def profile_versions(pool: AsyncConnectionPool, name: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute("select * from lab_profiles where name = %s order by version", (name,))
        return [dict(r) for r in await cur.fetchall()]


def profile_spec(row: Mapping[str, Any]) -> ProfileSpec:
    return decode_spec(row["spec"])


# ---- backtests -----------------------------------------------------------------------------


async def create_backtest(
    pool: AsyncConnectionPool,
    *,
    profile: Mapping[str, Any],
    dataset: Mapping[str, Any],
    params: dict[str, Any],
    estimate: dict[str, Any],
    start_equity: Decimal,
    sweep_id: str | None = None,
) -> str:
    backtest_id = f"bt-{uuid.uuid4().hex[:16]}"
    async with pool.connection() as conn:
        await conn.execute(
            "insert into lab_backtests (id, status, profile_name, profile_version, dataset_id, inst_id, params, estimate,"
            " start_equity, sweep_id) values (%s, 'queued', %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                backtest_id,
                profile["name"],
                profile["version"],
                dataset["id"],
                dataset["inst_id"],
                Jsonb(params),
                Jsonb(estimate),
                start_equity,
                sweep_id,
            ),
        )
    return backtest_id


async def get_backtest(pool: AsyncConnectionPool, backtest_id: str) -> dict[str, Any] | None:
    async with pool.connection() as conn:
        cur = await conn.execute("select * from lab_backtests where id = %s", (backtest_id,))
        return _row(await cur.fetchone())


async def list_backtests(pool: AsyncConnectionPool, profile: str | None, limit: int = 100) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select * from lab_backtests where (%s::text is null or profile_name = %s) order by created_at desc, id desc"
            " limit %s",
            (profile, profile, limit),
        )
        return [dict(r) for r in await cur.fetchall()]


async def start_attempt(pool: AsyncConnectionPool, backtest_id: str, worker: str) -> dict[str, Any] | None:
    """Claim the backtest for this attempt; None when it is already terminal (done, failed or canceled)."""
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "update lab_backtests set status = 'running', attempts = attempts + 1, worker = %s, started_at = now(),"
            " heartbeat_at = now(), progress = 0, runs_done = 0, cost_usd = 0, sim_ts = null, error = null"
            " where id = %s and status in ('queued', 'running') and not cancel_requested returning *",
            (worker, backtest_id),
        )
        row = await cur.fetchone()
        if row is None:
            await conn.execute(
                "update lab_backtests set status = 'canceled', finished_at = now()"
                " where id = %s and status in ('queued', 'running')",
                (backtest_id,),
            )
            return None
        for table in ("lab_equity", "lab_fills", "lab_runs"):  # nothing should be there; never show leftovers
            await conn.execute(f"delete from {table} where backtest_id = %s", (backtest_id,))
        return _row(row)


async def report_progress(
    pool: AsyncConnectionPool, backtest_id: str, progress: float, sim_ts: int, runs: int, cost_usd: float
) -> bool:
    """Store progress; answers whether a cancel was requested."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "update lab_backtests set progress = %s, sim_ts = %s, runs_done = %s, cost_usd = %s, heartbeat_at = now()"
            " where id = %s returning cancel_requested",
            (min(max(progress, 0.0), 1.0), sim_ts, runs, cost_usd, backtest_id),
        )
        row = await cur.fetchone()
    return bool(row and row["cancel_requested"])


async def cancel_requested(pool: AsyncConnectionPool, backtest_id: str) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute("select cancel_requested from lab_backtests where id = %s", (backtest_id,))
        row = await cur.fetchone()
    return bool(row and row["cancel_requested"])


async def request_cancel(pool: AsyncConnectionPool, backtest_id: str) -> dict[str, Any] | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "update lab_backtests set cancel_requested = true,"
            " status = case when status = 'queued' then 'canceled' else status end,"
            " finished_at = case when status = 'queued' then now() else finished_at end"
            " where id = %s returning *",
            (backtest_id,),
        )
        return _row(await cur.fetchone())


async def finish_backtest(
    pool: AsyncConnectionPool,
    backtest_id: str,
    *,
    status: str,
    metrics: dict[str, Any],
    end_equity: float,
    progress: float,
    sim_ts: int,
    partial: bool,
    partial_reason: str | None,
    equity: Sequence[tuple[int, float]],
    fills: Sequence[Any],
    runs: Sequence[dict[str, Any]],
    cost_usd: float,
) -> None:
    async with pool.connection() as conn, conn.transaction():
        for table in ("lab_equity", "lab_fills", "lab_runs"):
            await conn.execute(f"delete from {table} where backtest_id = %s", (backtest_id,))
        cur = conn.cursor()
        async with cur.copy("copy lab_equity (backtest_id, ts, equity) from stdin") as copy:
            for ts, value in equity:
                await copy.write_row((backtest_id, ts, value))
        async with cur.copy(
            "copy lab_fills (backtest_id, seq, ts, side, pos_side, px, sz, fee, realized_pnl, exec_type,"
            " kind, cl_ord_id) from stdin"
        ) as copy:
            for seq, f in enumerate(fills):
                await copy.write_row(
                    (
                        backtest_id,
                        seq,
                        f.ts,
                        f.side,
                        f.pos_side,
                        f.px,
                        f.sz,
                        f.fee,
                        f.realized_pnl,
                        f.exec_type,
                        f.kind,
                        f.cl_ord_id,
                    )
                )
        async with cur.copy(
            "copy lab_runs (backtest_id, seq, id, inst_id, source, status, triggered_at, finished_at,"
            " trigger_price, baseline_price, deviation_bps, error, summary, decision, tool_calls, orders,"
            " input_tokens, output_tokens, cost_usd) from stdin"
        ) as copy:
            for r in runs:
                await copy.write_row(
                    (
                        backtest_id,
                        r["seq"],
                        r["id"],
                        r["instId"],
                        r["source"],
                        r["status"],
                        r["triggeredAt"],
                        r["finishedAt"],
                        r["triggerPrice"],
                        r["baselinePrice"],
                        r["deviationBps"],
                        r["error"],
                        r["summary"],
                        json.dumps(r["decision"]),
                        json.dumps(r["toolCalls"]),
                        json.dumps(r["orders"]),
                        r["inputTokens"],
                        r["outputTokens"],
                        r["costUsd"],
                    )
                )
        await conn.execute(
            "update lab_backtests set status = %s, metrics = %s, end_equity = %s, progress = %s, sim_ts = %s, partial = %s,"
            " partial_reason = %s, runs_done = %s, cost_usd = %s, finished_at = now() where id = %s",
            (
                status,
                Jsonb(metrics),
                end_equity,
                progress,
                sim_ts,
                partial,
                partial_reason,
                len(runs),
                cost_usd,
                backtest_id,
            ),
        )


async def fail_backtest(pool: AsyncConnectionPool, backtest_id: str, error: str, *, final: bool) -> None:
    """Record an attempt's failure; `final` marks the backtest failed (no retry left), else it waits queued."""
    async with pool.connection() as conn:
        await conn.execute(
            "update lab_backtests set status = %s, error = %s, finished_at = case when %s then now() end"
            " where id = %s and status in ('queued', 'running')",
            ("failed" if final else "queued", error[:2000], final, backtest_id),
        )


async def equity_points(pool: AsyncConnectionPool, backtest_id: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute("select ts, equity from lab_equity where backtest_id = %s order by ts", (backtest_id,))
        return [{"ts": r["ts"], "equity": float(r["equity"])} for r in await cur.fetchall()]


async def fills_of(pool: AsyncConnectionPool, backtest_id: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute("select * from lab_fills where backtest_id = %s order by seq", (backtest_id,))
        return [
            {
                "ts": r["ts"],
                "side": r["side"],
                "posSide": r["pos_side"],
                "px": float(r["px"]),
                "sz": float(r["sz"]),
                "fee": float(r["fee"]),
                "realizedPnl": float(r["realized_pnl"]),
                "execType": r["exec_type"],
                "kind": r["kind"],
            }
            for r in await cur.fetchall()
        ]


async def runs_of(pool: AsyncConnectionPool, backtest_id: str, limit: int = 10_000) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select * from lab_runs where backtest_id = %s order by seq limit %s", (backtest_id, limit)
        )
        rows = await cur.fetchall()
    return [run_view(r) for r in rows]


def _iso(ms: int | None) -> str | None:
    from datetime import datetime

    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def run_view(r: Mapping[str, Any]) -> dict[str, Any]:
    """A backtest run in the shape of CONTRACT §6 (times simulated)."""
    return {
        "id": r["id"],
        "instId": r["inst_id"],
        "source": r["source"],
        "status": r["status"],
        "triggeredAt": _iso(r["triggered_at"]),
        "finishedAt": _iso(r["finished_at"]),
        "triggeredAtMs": r["triggered_at"],
        "triggerPrice": r["trigger_price"] and str(r["trigger_price"]),
        "baselinePrice": r["baseline_price"] and str(r["baseline_price"]),
        "deviationBps": _num(r["deviation_bps"]),
        "error": r["error"],
        "summary": r["summary"],
        "decision": r["decision"],
        "toolCalls": r["tool_calls"],
        "orders": r["orders"],
        "inputTokens": r["input_tokens"],
        "outputTokens": r["output_tokens"],
        "costUsd": _num(r["cost_usd"]),
    }


def backtest_view(r: Mapping[str, Any]) -> dict[str, Any]:
    """GET /api/lab/backtests/{id} (CONTRACT §8); `metrics` only once the backtest reached a terminal status."""
    return {
        "id": r["id"],
        "status": r["status"],
        "progress": r["progress"],
        "profile": r["profile_name"],
        "profileVersion": r["profile_version"],
        "datasetId": r["dataset_id"],
        "instId": r["inst_id"],
        "startEquity": _num(r["start_equity"]),
        "endEquity": _num(r["end_equity"]),
        "metrics": r["metrics"],
        "partial": r["partial"],
        "partialReason": r["partial_reason"],
        "simTime": _iso(r["sim_ts"]),
        "runsDone": r["runs_done"],
        "costUsd": _num(r["cost_usd"]),
        "estimate": r["estimate"],
        "params": r["params"],
        "error": r["error"],
        "attempts": r["attempts"],
        "sweepId": r["sweep_id"],
        "createdAt": r["created_at"].isoformat() if r.get("created_at") else None,
        "startedAt": r["started_at"].isoformat() if r.get("started_at") else None,
        "finishedAt": r["finished_at"].isoformat() if r.get("finished_at") else None,
    }
