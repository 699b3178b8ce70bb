"""Strategy runs: manual trigger, run history (CONTRACT §6) and the strategy messages (AI summaries).

`POST /api/model/strategy-run` answers at once (202) with the run ids; the analysis runs in the background
in the process that holds the scheduler (a non-leader process records the request for it).
"""

from __future__ import annotations

from functools import partial

import msgspec
from litestar import get, post
from psycopg_pool import AsyncConnectionPool

from api_server.bodies import decode_optional_body, json_body, optional_body_operation
from api_server.errors import BadRequest, NotFound
from api_server.scheduler import state as store
from api_server.scheduler.decisions import SOURCES
from api_server.scheduler.runs import DECISION_ACTIONS, StrategyMessage, StrategyRun
from api_server.scheduler.service import SchedulerService
from shared.ids import RUN_ID_MAX, is_valid_inst_id, is_valid_run_id

MAX_LIMIT = 500
DEFAULT_RUNS_LIMIT = 100
DEFAULT_CHAT_LIMIT = 50


class StrategyRunRequest(msgspec.Struct, kw_only=True):
    """Optional body: no body (or no instId) runs every configured instrument."""

    instId: str | None = None


class AcceptedRun(msgspec.Struct, kw_only=True):
    runId: str
    instId: str


class StrategyRunAccepted(msgspec.Struct, kw_only=True):
    runIds: list[str]
    runs: list[AcceptedRun]
    handledBy: str  # "leader": queued in this process's scheduler; "database": recorded for the leader


def _inst_id(value: str | None, configured: tuple[str, ...] | None = None) -> str | None:
    if value is None:
        return None
    inst_id = value.strip().upper()
    if not is_valid_inst_id(inst_id):
        raise BadRequest(f"instId: malformed instrument id {value!r} (expected e.g. BTC-USDT-SWAP)", field="instId")
    if configured is not None and inst_id not in configured:
        raise BadRequest(f"instId: {inst_id} is not configured (OKX_INST_IDS: {', '.join(configured)})", field="instId")
    return inst_id


def _limit(value: int | None, default: int) -> int:
    if value is None:
        return default
    if not 1 <= value <= MAX_LIMIT:
        raise BadRequest(f"limit: must be between 1 and {MAX_LIMIT}, got {value}", field="limit")
    return value


@post(
    "/api/model/strategy-run",
    status_code=202,
    tags=["model"],
    summary="Manual strategy run; answers at once with the run ids",
    dto=json_body(StrategyRunRequest, partial(decode_optional_body, kind=StrategyRunRequest)),
    return_dto=None,
    operation_class=optional_body_operation,
)
async def strategy_run(scheduler: SchedulerService, data: StrategyRunRequest | None = None) -> StrategyRunAccepted:
    body = data if data is not None else StrategyRunRequest()
    inst_id = _inst_id(body.instId, scheduler.inst_ids)
    inst_ids = [inst_id] if inst_id is not None else list(scheduler.inst_ids)
    handled_by = "leader" if scheduler.is_leader else "database"
    run_ids = await scheduler.request_manual(inst_ids)
    return StrategyRunAccepted(
        runIds=run_ids,
        runs=[AcceptedRun(runId=r, instId=i) for r, i in zip(run_ids, inst_ids)],
        handledBy=handled_by,
    )


RUN_STATUSES = ("queued", "running", "succeeded", "failed", "skipped")


def _one_of(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    if value not in allowed:
        raise BadRequest(f"{name} must be one of {', '.join(allowed)}, got {value[:40]!r}", field=name)
    return value


@get(
    "/api/model/strategy-runs",
    tags=["model"],
    summary="Strategy runs, newest first; filters instId, source, status, action (the decision's); page with before=<last run id>",
)
async def strategy_runs(
    pool: AsyncConnectionPool,
    instId: str | None = None,
    limit: int | None = None,
    source: str | None = None,
    status: str | None = None,
    action: str | None = None,
    before: str | None = None,
) -> list[StrategyRun]:
    if before is not None and not is_valid_run_id(before):
        raise BadRequest(f"before: expected a run id (1 to {RUN_ID_MAX} letters, digits or _ . : -)", field="before")
    return await store.list_runs(
        pool,
        _inst_id(instId),
        _limit(limit, DEFAULT_RUNS_LIMIT),
        source=_one_of("source", source, SOURCES),
        status=_one_of("status", status, RUN_STATUSES),
        action=_one_of("action", action, DECISION_ACTIONS),
        before=before,
    )


@get("/api/model/strategy-runs/{run_id:str}", tags=["model"], summary="One strategy run")
async def strategy_run_detail(pool: AsyncConnectionPool, run_id: str) -> StrategyRun:
    if not is_valid_run_id(run_id):
        raise BadRequest(f"id: expected 1 to {RUN_ID_MAX} letters, digits or _ . : -", field="id")
    run = await store.get_run(pool, run_id)
    if run is None:
        raise NotFound(f"no strategy run with id {run_id!r}", field="id")
    return run


@get("/api/model/strategy-chat", tags=["model"], summary="Recent strategy messages (AI summaries), newest first")
async def strategy_chat(
    pool: AsyncConnectionPool, instId: str | None = None, limit: int | None = None
) -> list[StrategyMessage]:
    return await store.list_messages(pool, _inst_id(instId), _limit(limit, DEFAULT_CHAT_LIMIT))


MODEL_ROUTES = [strategy_run, strategy_runs, strategy_run_detail, strategy_chat]
