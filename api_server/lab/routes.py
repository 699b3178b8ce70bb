"""`/api/lab/...` (CONTRACT §8): datasets, strategy profiles, backtests (queued to `make lab-worker`), results, SSE.

Domain code lives in the other `api_server.lab` modules; this file only parses requests and shapes answers.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncGenerator
from datetime import UTC
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.response import ServerSentEvent, ServerSentEventMessage

from api_server.errors import BadRequest, NotFound, Unprocessable
from api_server.lab import store
from api_server.lab.bodies import (
    NAME_RE,
    BacktestBody,
    DatasetBody,
    FetchBody,
    SweepBody,
    check_backtest,
    decode,
    field_of,
)
from api_server.lab.candles import CandleRowError, check_bar, normalise, parse_file_text
from api_server.lab.jobs import LabInputError, estimate, instrument_spec
from api_server.lab.okx_history import fetch_history
from api_server.lab.profiles import decode_spec, diff_specs, spec_json, with_settings
from api_server.lab.queue import LabQueue
from shared.envfile import REPO_ROOT
from shared.instruments import is_valid_bar, is_valid_inst_id

CANDLES_DIR = REPO_ROOT / "data" / "candles"
DATASET_MAX_BYTES = 32 * 1024 * 1024
TERMINAL = ("succeeded", "failed", "canceled")


async def _lab_queue(state: State) -> LabQueue:
    queue = getattr(state, "lab_queue", None)
    if queue is None:
        queue = LabQueue(state.settings.database_url)
        await queue.ensure_schema()
        state.lab_queue = queue
    return queue


async def _ensure_profiles(state: State) -> None:
    if not getattr(state, "lab_profiles_ready", False):
        from shared.envfile import load_environment

        await store.ensure_default_profile(state.pool, load_environment())
        state.lab_profiles_ready = True


def _iso(ms: int) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _dataset_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "instId": row["inst_id"],
        "bar": row["bar"],
        "count": row["row_count"],
        "from": _iso(row["from_ts"]),
        "to": _iso(row["to_ts"]),
        "source": row["source"],
    }


def _profile_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "version": row["version"],
        "spec": row["spec"],
        "createdAt": row["created_at"].isoformat() if row.get("created_at") else None,
    }


async def _backtest_or_404(state: State, backtest_id: str) -> dict[str, Any]:
    if not NAME_RE.match(backtest_id):
        raise BadRequest("id: not a backtest id", field="id")
    row = await store.get_backtest(state.pool, backtest_id)
    if row is None:
        raise NotFound(f"no backtest {backtest_id}", field="id")
    return row


class LabController(Controller):
    path = "/api/lab"
    tags = ["lab"]

    # ---- datasets ------------------------------------------------------------------------
    @get("/datasets", summary="Candle datasets")
    async def datasets(self, state: State) -> list[dict[str, Any]]:
        return [_dataset_view(r) for r in await store.list_datasets(state.pool)]

    @post(
        "/datasets",
        status_code=201,
        request_max_body_size=DATASET_MAX_BYTES,
        summary="Import candles: {instId, bar, candles: [[ts_ms, o, h, l, c, v], ...]} or {instId, bar, file}",
    )
    async def import_dataset(self, state: State, request: Request) -> dict[str, Any]:
        body = decode(await request.body(), DatasetBody)
        if not is_valid_inst_id(body.instId):
            raise BadRequest(f"instId: {body.instId!r} is not an OKX instrument id", field="instId")
        if not is_valid_bar(body.bar):
            raise BadRequest(f"bar: {body.bar!r} is not an OKX bar", field="bar")
        if (body.candles is None) == (body.file is None):
            raise BadRequest("give candles or file (one of them)", field="candles")
        try:
            if body.candles is not None:
                rows, source = normalise(body.candles), "api"
            else:
                path = (REPO_ROOT / body.file).resolve()
                if CANDLES_DIR.resolve() not in path.parents or not path.is_file():
                    raise BadRequest("file: must name a file under data/candles/", field="file")
                rows, source = parse_file_text(path.read_text()), f"file:{path.relative_to(REPO_ROOT)}"
            check_bar(rows, body.bar)
        except CandleRowError as exc:
            field = f"candles[{exc.index}]" if exc.index is not None else ("bar" if exc.field == "bar" else "candles")
            raise BadRequest(str(exc), field=field, row=exc.index) from None
        row = await store.insert_dataset(state.pool, body.instId, body.bar, source, rows)
        return _dataset_view(row)

    @post(
        "/datasets/fetch",
        status_code=201,
        summary="Fetch candles from OKX history-candles (paged, rate-limited) into a dataset: {instId, bar, days}",
    )
    async def fetch_dataset(self, state: State, request: Request) -> dict[str, Any]:
        body = decode(await request.body(), FetchBody)
        if not is_valid_inst_id(body.instId):
            raise BadRequest(f"instId: {body.instId!r} is not an OKX instrument id", field="instId")
        if not is_valid_bar(body.bar):
            raise BadRequest(f"bar: {body.bar!r} is not an OKX bar", field="bar")
        if not 0 < body.days <= 365:
            raise BadRequest("days: more than 0, at most 365", field="days")
        rows = await fetch_history(state.services.okx, body.instId, body.bar, body.days)
        if len(rows) < 2:
            raise NotFound(f"OKX returned no history for {body.instId} {body.bar}", field="instId")
        row = await store.insert_dataset(state.pool, body.instId, body.bar, "okx:history-candles", rows)
        return _dataset_view(row)

    @get("/candle-files", summary="Candle files under data/candles/ that POST /datasets can import by name")
    async def candle_files(self) -> list[str]:
        return sorted(str(p.relative_to(REPO_ROOT)) for p in CANDLES_DIR.glob("*") if p.suffix in (".json", ".csv"))

    # ---- profiles ------------------------------------------------------------------------
    @get("/profiles", summary="Strategy profiles (newest version of each)")
    async def profiles(self, state: State) -> list[dict[str, Any]]:
        await _ensure_profiles(state)
        return [_profile_view(r) for r in await store.list_profiles(state.pool)]

    @post("/profiles", status_code=201, summary="Save a profile: a new immutable version (unchanged spec: the newest)")
    async def save_profile(self, state: State, request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = msgspec.json.decode(raw or b"null")
        except msgspec.DecodeError:
            raise BadRequest("body is not valid JSON", field="body") from None
        if not isinstance(body, dict):
            raise BadRequest("a JSON object is required", field="body")
        name = body.pop("name", None)
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise BadRequest("name: 1-64 of letters, digits, _ . : -", field="name")
        try:
            spec = decode_spec(body)
        except msgspec.ValidationError as exc:
            raise BadRequest(str(exc), field=field_of(str(exc))) from None
        except ValueError as exc:
            raise BadRequest(str(exc), field=str(exc).split(":")[0]) from None
        saved = await store.create_profile_version(state.pool, name, spec)
        return {**saved, "spec": spec_json(spec)}

    @get("/profiles/{name:str}", summary="A profile's newest version (or ?version=)")
    async def profile(self, state: State, name: str, version: int | None = None) -> dict[str, Any]:
        await _ensure_profiles(state)
        row = await store.get_profile(state.pool, name, version)
        if row is None:
            raise NotFound(f"no profile {name}" + (f"@{version}" if version else ""), field="name")
        return _profile_view(row)

    @get("/profiles/{name:str}/versions", summary="Every version of a profile, oldest first")
    async def versions(self, state: State, name: str) -> list[dict[str, Any]]:
        rows = await store.profile_versions(state.pool, name)
        if not rows:
            raise NotFound(f"no profile {name}", field="name")
        return [_profile_view(r) for r in rows]

    @get(
        "/profiles/{name:str}/diff",
        summary="What changed between two versions (?from=&to=, or against another profile with ?other=)",
    )
    async def diff(
        self,
        state: State,
        name: str,
        from_version: int | None = None,
        to_version: int | None = None,
        other: str | None = None,
    ) -> dict[str, Any]:
        a = await store.get_profile(state.pool, name, from_version)
        b = await store.get_profile(state.pool, other or name, to_version)
        if a is None or b is None:
            raise NotFound("no such profile version", field="from_version" if a is None else "to_version")
        return {
            "from": {"name": a["name"], "version": a["version"]},
            "to": {"name": b["name"], "version": b["version"]},
            "changes": diff_specs(store.profile_spec(a), store.profile_spec(b)),
        }

    # ---- backtests -----------------------------------------------------------------------
    async def _prepare(self, state: State, body: BacktestBody, profile_row: dict[str, Any] | None = None):
        check_backtest(body)
        await _ensure_profiles(state)
        dataset = await store.get_dataset(state.pool, body.datasetId) if NAME_RE.match(body.datasetId) else None
        if dataset is None:
            raise NotFound(f"no dataset {body.datasetId}", field="datasetId")
        try:
            instrument_spec(dataset["inst_id"])
        except LabInputError as exc:
            raise Unprocessable(str(exc), field="datasetId") from None
        profile = profile_row or await store.get_profile(state.pool, body.profile, body.profileVersion)
        if profile is None:
            raise NotFound(
                f"no profile {body.profile}" + (f"@{body.profileVersion}" if body.profileVersion else ""),
                field="profileVersion" if body.profileVersion else "profile",
            )
        candles = await store.load_candles(state.pool, dataset["id"])
        est = await asyncio.to_thread(estimate, store.profile_spec(profile), candles, dataset["bar"])
        if body.budgetUsd is not None and est["costUsd"] > body.budgetUsd and not body.force and not body.dryRun:
            raise Unprocessable(
                f"the estimate ${est['costUsd']:.4f} ({est['runs']} analyses) is over budgetUsd "
                f"{body.budgetUsd}; lower the cost or pass force: true (it then stops at the budget)",
                field="budgetUsd",
                estimate=est,
            )
        params = {
            k: getattr(body, k)
            for k in ("feeTakerPct", "feeMakerPct", "slippageBps", "fundingRate", "fundingSeries", "budgetUsd")
        }
        return dataset, profile, est, params

    @post("/backtests", status_code=202, summary="Queue a backtest; answers its id and cost estimate")
    async def create(self, state: State, request: Request) -> dict[str, Any]:
        body = decode(await request.body(), BacktestBody)
        dataset, profile, est, params = await self._prepare(state, body)
        if body.dryRun:
            return {"id": None, "estimate": est}
        backtest_id = await store.create_backtest(
            state.pool,
            profile=profile,
            dataset=dataset,
            params=params,
            estimate=est,
            start_equity=Decimal(str(body.initialEquity)),
        )
        await (await _lab_queue(state)).enqueue([backtest_id])
        return {"id": backtest_id, "estimate": est}

    @post("/sweeps", status_code=202, summary="Fan out: one backtest per combination of the grid's values")
    async def sweep(self, state: State, request: Request) -> dict[str, Any]:
        body = decode(await request.body(), SweepBody)
        if not body.grid or any(not isinstance(v, list) or not v for v in body.grid.values()):
            raise BadRequest("grid: a non-empty list of values per setting", field="grid")
        combos = list(itertools.product(*body.grid.values()))
        if len(combos) > 64:
            raise BadRequest(f"grid: {len(combos)} combinations, at most 64", field="grid")
        base = await store.get_profile(state.pool, body.backtest.profile, body.backtest.profileVersion)
        if base is None:
            raise NotFound(f"no profile {body.backtest.profile}", field="backtest.profile")
        sweep_id = f"sw-{uuid.uuid4().hex[:10]}"
        prepared = []
        for i, values in enumerate(combos):
            settings = dict(zip(body.grid.keys(), values))
            try:
                spec = with_settings(store.profile_spec(base), settings)
            except (ValueError, msgspec.ValidationError) as exc:
                raise BadRequest(f"grid: {exc}", field="grid") from None
            saved = await store.create_profile_version(state.pool, f"{base['name']}.{sweep_id}.{i}", spec)
            row = await store.get_profile(state.pool, saved["name"], saved["version"])
            prepared.append((settings, await self._prepare(state, body.backtest, row)))
        ids = []
        for settings, (dataset, profile, est, params) in prepared:
            ids.append(
                {
                    "id": await store.create_backtest(
                        state.pool,
                        profile=profile,
                        dataset=dataset,
                        params=params,
                        estimate=est,
                        start_equity=Decimal(str(body.backtest.initialEquity)),
                        sweep_id=sweep_id,
                    ),
                    "profile": profile["name"],
                    "settings": settings,
                    "estimate": est,
                }
            )
        await (await _lab_queue(state)).enqueue([b["id"] for b in ids])
        return {"sweepId": sweep_id, "backtests": ids}

    @get("/backtests", summary="Backtests, newest first (?profile=)")
    async def list(self, state: State, profile: str | None = None, sweep: str | None = None) -> list[dict[str, Any]]:
        rows = await store.list_backtests(state.pool, profile)
        return [store.backtest_view(r) for r in rows if sweep is None or r["sweep_id"] == sweep]

    @get("/backtests/{backtest_id:str}", summary="One backtest: status, progress, metrics (fractions)")
    async def get_one(self, state: State, backtest_id: str) -> dict[str, Any]:
        return store.backtest_view(await _backtest_or_404(state, backtest_id))

    @get("/backtests/{backtest_id:str}/equity", summary="Equity curve, oldest first")
    async def equity(self, state: State, backtest_id: str) -> list[dict[str, Any]]:
        await _backtest_or_404(state, backtest_id)
        return await store.equity_points(state.pool, backtest_id)

    @get("/backtests/{backtest_id:str}/fills", summary="Every fill")
    async def fills(self, state: State, backtest_id: str) -> list[dict[str, Any]]:
        await _backtest_or_404(state, backtest_id)
        return await store.fills_of(state.pool, backtest_id)

    @get("/backtests/{backtest_id:str}/runs", summary="The backtest's strategy runs (CONTRACT §6, simulated times)")
    async def runs(self, state: State, backtest_id: str, limit: int = 10_000) -> list[dict[str, Any]]:
        await _backtest_or_404(state, backtest_id)
        return await store.runs_of(state.pool, backtest_id, max(1, min(limit, 100_000)))

    @post(
        "/backtests/{backtest_id:str}/cancel",
        status_code=200,
        summary="Cancel (a running one stops and keeps partial results)",
    )
    async def cancel(self, state: State, backtest_id: str) -> dict[str, Any]:
        await _backtest_or_404(state, backtest_id)
        return store.backtest_view(await store.request_cancel(state.pool, backtest_id))

    @get("/backtests/{backtest_id:str}/events", summary="Progress as Server-Sent Events until the backtest ends")
    async def events(self, state: State, backtest_id: str) -> ServerSentEvent:
        await _backtest_or_404(state, backtest_id)

        async def stream() -> AsyncGenerator[ServerSentEventMessage, None]:
            while True:
                row = await store.get_backtest(state.pool, backtest_id)
                view = store.backtest_view(row)
                progress = {
                    k: view[k] for k in ("id", "status", "progress", "simTime", "runsDone", "costUsd", "partial")
                }
                progress["etaSecs"] = _eta(row)
                yield ServerSentEventMessage(data=msgspec.json.encode(progress).decode(), event="progress")
                if row["status"] in TERMINAL:
                    yield ServerSentEventMessage(data=msgspec.json.encode(view).decode(), event="done")
                    return
                await asyncio.sleep(0.5)

        return ServerSentEvent(stream())

    @get("/compare", summary="Backtests side by side: views, equity normalised to 1, profile diffs against the first")
    async def compare(self, state: State, ids: str) -> dict[str, Any]:
        wanted = [i for i in ids.split(",") if i][:12]
        if not wanted:
            raise BadRequest("ids: comma-separated backtest ids", field="ids")
        rows = [await _backtest_or_404(state, i) for i in wanted]
        curves = {}
        for r in rows:
            points = await store.equity_points(state.pool, r["id"])
            start = float(r["start_equity"])
            curves[r["id"]] = [{"ts": p["ts"], "equity": p["equity"] / start} for p in points] if start else []
        first = await store.get_profile(state.pool, rows[0]["profile_name"], rows[0]["profile_version"])
        diffs = {}
        for r in rows[1:]:
            other = await store.get_profile(state.pool, r["profile_name"], r["profile_version"])
            diffs[r["id"]] = diff_specs(store.profile_spec(first), store.profile_spec(other))
        return {"backtests": [store.backtest_view(r) for r in rows], "equity": curves, "profileDiffs": diffs}


def _eta(row: dict[str, Any]) -> float | None:
    started, progress = row.get("started_at"), row.get("progress") or 0
    if row["status"] != "running" or not started or progress <= 0:
        return None
    from datetime import datetime

    elapsed = (datetime.now(UTC) - started).total_seconds()
    return round(elapsed * (1 - progress) / progress, 1)


LAB_ROUTES = [LabController]
