"""PostgreSQL persistence of the strategy scheduler: every SQL statement it uses (migration 0003_scheduler).

* `scheduler_symbol_states`: one `SymbolState` per instrument (msgspec JSON), written on every change and
  read back at start-up / takeover.
* `scheduler_control`: the single shared row with the pause switch, the consecutive-failure count and the
  current leader, so a pause asked of any API process reaches the one that runs the scheduler.
* `strategy_runs`: every run (CONTRACT §6). Manual requests are inserted as `queued` at once (by whichever
  process received them) and picked up by the leader; the leader writes `running` and the final status.
* `strategy_messages`: the AI summaries shown by `GET /api/model/strategy-chat`.

Non-leader processes signal the leader with `NOTIFY aitrader_scheduler, '<what>'` after writing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from api_server.scheduler.decisions import SymbolState
from api_server.scheduler.runs import StrategyMessage, StrategyRun, parse_decision, stored_record

NOTIFY_CHANNEL = "aitrader_scheduler"
NOTIFY_MANUAL = "manual"
NOTIFY_CONTROL = "control"

RunStatus = str  # 'queued' | 'running' | 'succeeded' | 'failed' | 'skipped'

log = logging.getLogger("aitrader.api.scheduler")


def iso(value: float | datetime | None) -> str | None:
    """UTC ISO 8601 with milliseconds and `Z` (epoch seconds or an aware datetime)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(value, UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ts(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _dec_str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _bps(value: Decimal | float | None) -> float | None:
    return None if value is None else round(float(value), 4)


class Control(msgspec.Struct, kw_only=True):
    paused: bool = False
    paused_reason: str | None = None
    paused_by: str | None = None
    consecutive_failures: int = 0
    leader_id: str | None = None
    leader_since: datetime | None = None


class QueuedRequest(msgspec.Struct, frozen=True):
    run_id: str
    inst_id: str
    triggered_at: float


def _run_from_row(row: Mapping[str, Any]) -> StrategyRun:
    return StrategyRun(
        id=row["id"],
        instId=row["inst_id"],
        source=row["source"],
        status=row["status"],
        triggeredAt=iso(row["triggered_at"]) or "",
        startedAt=iso(row["started_at"]),
        finishedAt=iso(row["finished_at"]),
        triggerPrice=_dec_str(row["trigger_price"]),
        baselinePrice=_dec_str(row["baseline_price"]),
        deviationBps=_bps(row["deviation_bps"]),
        error=row["error"],
        summary=row["summary"],
        confidence=row["confidence"],
        toolCalls=row["tool_calls"] or [],
        orders=row["orders"] or [],
        provider=row["provider"],
        model=row["model"],
        decision=parse_decision(row["decision"]),
        inputTokens=row["input_tokens"],
        outputTokens=row["output_tokens"],
        costUsd=_dec_str(row["cost_usd"]),
        durationMs=row["duration_ms"],
    )


_RUN_COLUMNS = (
    "id, inst_id, source, status, triggered_at, started_at, finished_at, trigger_price, baseline_price, deviation_bps, "
    "error, summary, confidence, tool_calls, orders, provider, model, decision, input_tokens, output_tokens, cost_usd, "
    "duration_ms"
)

# --------------------------------------------------------------------------------------------- symbol states


async def load_symbol_states(pool: AsyncConnectionPool) -> dict[str, SymbolState]:
    async with pool.connection() as conn:
        rows = await (
            await conn.execute("select inst_id, state::text as state from scheduler_symbol_states")
        ).fetchall()
    return {row["inst_id"]: msgspec.json.decode(row["state"], type=SymbolState) for row in rows}


async def save_symbol_states(pool: AsyncConnectionPool, states: Mapping[str, SymbolState]) -> None:
    """Upsert the given instruments' states (one statement, one round trip)."""
    if not states:
        return
    inst_ids, encoded = _state_arrays(states)
    async with pool.connection() as conn:
        await conn.execute(_UPSERT_STATES, (inst_ids, encoded))


def _state_arrays(states: Mapping[str, SymbolState]) -> tuple[list[str], list[str]]:
    return list(states), [msgspec.json.encode(state).decode() for state in states.values()]


_UPSERT_STATES = (
    "insert into scheduler_symbol_states (inst_id, state, updated_at) "
    "select i, s::jsonb, now() from unnest(%s::text[], %s::text[]) as t(i, s) "
    "on conflict (inst_id) do update set state = excluded.state, updated_at = now()"
)


# --------------------------------------------------------------------------------------------- control row


async def load_control(pool: AsyncConnectionPool) -> Control:
    async with pool.connection() as conn:
        row = await (
            await conn.execute(
                "select paused, paused_reason, paused_by, consecutive_failures, leader_id, leader_since "
                "from scheduler_control where id = 1"
            )
        ).fetchone()
    return Control() if row is None else Control(**row)


async def set_paused(
    pool: AsyncConnectionPool, paused: bool, reason: str | None, by: str | None, *, notify: bool
) -> None:
    async with pool.connection() as conn:
        async with conn.transaction():
            await conn.execute(
                "update scheduler_control set paused = %s, paused_reason = %s, paused_by = %s, "
                "paused_at = case when %s then now() else null end, "
                "consecutive_failures = case when %s then consecutive_failures else 0 end, updated_at = now() "
                "where id = 1",
                (paused, reason if paused else None, by if paused else None, paused, paused),
            )
            if notify:
                await conn.execute("select pg_notify(%s, %s)", (NOTIFY_CHANNEL, NOTIFY_CONTROL))


async def set_consecutive_failures(pool: AsyncConnectionPool, count: int) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "update scheduler_control set consecutive_failures = %s, updated_at = now() where id = 1", (count,)
        )


async def set_leader(pool: AsyncConnectionPool, leader_id: str | None) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "update scheduler_control set leader_id = %s, leader_since = case when %s::text is null then null else now() end, "
            "updated_at = now() where id = 1",
            (leader_id, leader_id),
        )


async def clear_leader_if(pool: AsyncConnectionPool, leader_id: str) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "update scheduler_control set leader_id = null, leader_since = null, updated_at = now() "
            "where id = 1 and leader_id = %s",
            (leader_id,),
        )


# --------------------------------------------------------------------------------------------- runs


async def fail_interrupted_runs(pool: AsyncConnectionPool, error: str) -> list[str]:
    """Runs left `running` by a scheduler process that died: they can no longer finish."""
    async with pool.connection() as conn:
        rows = await (
            await conn.execute(
                "update strategy_runs set status = 'failed', error = %s, finished_at = now(), "
                "duration_ms = extract(epoch from (now() - coalesce(started_at, triggered_at))) * 1000 "
                "where status = 'running' returning id",
                (error,),
            )
        ).fetchall()
    return [row["id"] for row in rows]


async def insert_queued_run(
    pool: AsyncConnectionPool,
    run_id: str,
    inst_id: str,
    triggered_at: float | None,
    price: Decimal | None,
    *,
    notify: bool,
) -> None:
    """Record an accepted manual request (`triggered_at` None: the database's clock, as for non-leaders)."""
    async with pool.connection() as conn:
        async with conn.transaction():
            await conn.execute(
                "insert into strategy_runs (id, inst_id, source, status, triggered_at, trigger_price) "
                "values (%s, %s, 'manual', 'queued', coalesce(%s, now()), %s) on conflict (id) do nothing",
                (run_id, inst_id, _ts(triggered_at), price),
            )
            if notify:
                await conn.execute("select pg_notify(%s, %s)", (NOTIFY_CHANNEL, NOTIFY_MANUAL))


async def queued_requests(pool: AsyncConnectionPool) -> list[QueuedRequest]:
    async with pool.connection() as conn:
        rows = await (
            await conn.execute(
                "select id, inst_id, extract(epoch from triggered_at)::float8 as at from strategy_runs "
                "where status = 'queued' order by triggered_at, id"
            )
        ).fetchall()
    return [QueuedRequest(row["id"], row["inst_id"], row["at"]) for row in rows]


async def mark_run_skipped(pool: AsyncConnectionPool, run_id: str, reason: str) -> StrategyRun | None:
    async with pool.connection() as conn:
        row = await (
            await conn.execute(
                f"update strategy_runs set status = 'skipped', error = %s, finished_at = now() "
                f"where id = %s and status = 'queued' returning {_RUN_COLUMNS}",
                (reason, run_id),
            )
        ).fetchone()
    return None if row is None else _run_from_row(row)


async def record_run_started(
    pool: AsyncConnectionPool,
    run: StrategyRun,
    started_at: float,
    triggered_at: float,
    states: Mapping[str, SymbolState] | None = None,
) -> None:
    """Insert the run as `running` (or turn its `queued` row into it) and write the given instruments' states,
    in one statement (atomic, one round trip: this is on the trigger's latency path)."""
    inst_ids, encoded = _state_arrays(states or {})
    async with pool.connection() as conn:
        await conn.execute(
            "with saved as ("
            + _UPSERT_STATES.replace("%s::text[], %s::text[]", "%(inst_ids)s::text[], %(states)s::text[]")
            + " returning 1) "
            "insert into strategy_runs (id, inst_id, source, status, triggered_at, started_at, trigger_price, "
            "baseline_price, deviation_bps) values (%(id)s, %(inst_id)s, %(source)s, 'running', %(triggered_at)s, "
            "%(started_at)s, %(trigger_price)s, %(baseline_price)s, %(deviation_bps)s) "
            "on conflict (id) do update set source = excluded.source, status = 'running', "
            "triggered_at = excluded.triggered_at, started_at = excluded.started_at, "
            "trigger_price = excluded.trigger_price, baseline_price = excluded.baseline_price, "
            "deviation_bps = excluded.deviation_bps",
            {
                "inst_ids": inst_ids,
                "states": encoded,
                "id": run.id,
                "inst_id": run.instId,
                "source": run.source,
                "triggered_at": _ts(triggered_at),
                "started_at": _ts(started_at),
                "trigger_price": run.triggerPrice,
                "baseline_price": run.baselinePrice,
                "deviation_bps": run.deviationBps,
            },
        )


async def record_run_finished(
    pool: AsyncConnectionPool,
    run: StrategyRun,
    finished_at: float,
    states: Mapping[str, SymbolState] | None = None,
) -> None:
    """Final status, result and timings; the summary becomes a strategy message; the instruments' states
    after the bookkeeping are written in the same transaction (so a restart sees both or neither)."""
    async with pool.connection() as conn:
        async with conn.transaction():
            await conn.execute(
                "update strategy_runs set status = %s, finished_at = %s, error = %s, summary = %s, confidence = %s, "
                "tool_calls = %s, orders = %s, provider = %s, model = %s, decision = %s, input_tokens = %s, "
                "output_tokens = %s, cost_usd = %s, duration_ms = %s where id = %s",
                (
                    run.status,
                    _ts(finished_at),
                    run.error,
                    run.summary,
                    run.confidence,
                    Jsonb([stored_record(r) for r in run.toolCalls]),
                    Jsonb([stored_record(r) for r in run.orders]),
                    run.provider,
                    run.model,
                    None if run.decision is None else Jsonb(msgspec.to_builtins(run.decision)),
                    run.inputTokens,
                    run.outputTokens,
                    run.costUsd,
                    run.durationMs,
                    run.id,
                ),
            )
            if run.status == "succeeded" and run.summary:
                await conn.execute(
                    "insert into strategy_messages (run_id, inst_id, role, content, created_at) "
                    "values (%s, %s, 'assistant', %s, %s)",
                    (run.id, run.instId, run.summary, _ts(finished_at)),
                )
            if states:
                await conn.execute(_UPSERT_STATES, _state_arrays(states))


async def list_runs(
    pool: AsyncConnectionPool,
    inst_id: str | None,
    limit: int,
    *,
    source: str | None = None,
    status: str | None = None,
    action: str | None = None,
    before: str | None = None,
) -> list[StrategyRun]:
    """Runs newest first, filtered; `before`: a run id, the page continues after it (keyset on time and id)."""
    where, args = ["true"], []
    for column, value in (("inst_id", inst_id), ("source", source), ("status", status)):
        if value is not None:
            where.append(f"{column} = %s")
            args.append(value)
    if action is not None:
        where.append("decision ->> 'action' = %s")
        args.append(action)
    if before is not None:
        where.append("(triggered_at, id) < (select triggered_at, id from strategy_runs where id = %s)")
        args.append(before)
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"select {_RUN_COLUMNS} from strategy_runs where {' and '.join(where)} "
            f"order by triggered_at desc, id desc limit %s",
            (*args, limit),
        )
        rows = await cur.fetchall()
    return [_run_from_row(row) for row in rows]


async def get_run(pool: AsyncConnectionPool, run_id: str) -> StrategyRun | None:
    async with pool.connection() as conn:
        row = await (
            await conn.execute(f"select {_RUN_COLUMNS} from strategy_runs where id = %s", (run_id,))
        ).fetchone()
    return None if row is None else _run_from_row(row)


async def latest_run_per_instrument(pool: AsyncConnectionPool, inst_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """instId → (run id, status) of its newest started or finished run (queued requests left out)."""
    async with pool.connection() as conn:
        rows = await (
            await conn.execute(
                "select distinct on (inst_id) inst_id, id, status from strategy_runs "
                "where inst_id = any(%s) and status <> 'queued' order by inst_id, triggered_at desc, id desc",
                (list(inst_ids),),
            )
        ).fetchall()
    return {row["inst_id"]: (row["id"], row["status"]) for row in rows}


async def list_messages(pool: AsyncConnectionPool, inst_id: str | None, limit: int) -> list[StrategyMessage]:
    async with pool.connection() as conn:
        if inst_id is None:
            cur = await conn.execute(
                "select id, run_id, inst_id, role, content, created_at from strategy_messages "
                "order by created_at desc, id desc limit %s",
                (limit,),
            )
        else:
            cur = await conn.execute(
                "select id, run_id, inst_id, role, content, created_at from strategy_messages where inst_id = %s "
                "order by created_at desc, id desc limit %s",
                (inst_id, limit),
            )
        rows = await cur.fetchall()
    return [
        StrategyMessage(
            id=str(row["id"]),
            runId=row["run_id"],
            instId=row["inst_id"],
            role=row["role"],
            content=row["content"],
            createdAt=iso(row["created_at"]) or "",
        )
        for row in rows
    ]
