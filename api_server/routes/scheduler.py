"""Scheduler status and its kill switch: `GET /api/scheduler/status`, `POST /api/scheduler/pause` / `resume`.

Pause stops automated runs (volatility and schedule) in the process that runs the scheduler, whichever API
process receives the request; manual runs are still allowed. Answers with the status after the change.
"""

from __future__ import annotations

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State

from api_server.errors import BadRequest
from api_server.scheduler.loop import SchedulerStatus

MAX_REASON_CHARS = 500


class PauseBody(msgspec.Struct, kw_only=True):
    reason: str | None = None


def decode_optional_body(raw: bytes, kind: type[msgspec.Struct]) -> msgspec.Struct:
    """An optional JSON object body: empty means all defaults; bad input is a 400 naming the field."""
    if not raw.strip():
        return kind()
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        field = text.rsplit("$.", 1)[-1].strip("`' ") if "$." in text else "body"
        raise BadRequest(f"{field}: {text}", field=field) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"body: not valid JSON ({exc})", field="body") from None


@get("/api/scheduler/status", tags=["scheduler"], summary="Scheduler status: per-instrument trigger state, pause, leader")
async def scheduler_status(state: State) -> SchedulerStatus:
    return await state.scheduler.status()


@post("/api/scheduler/pause", status_code=200, tags=["scheduler"], summary="Pause automated runs (manual runs still allowed)")
async def scheduler_pause(state: State, request: Request) -> SchedulerStatus:
    body = decode_optional_body(await request.body(), PauseBody)
    reason = (body.reason or "").strip() or "paused by a user"
    if len(reason) > MAX_REASON_CHARS:
        raise BadRequest(f"reason: at most {MAX_REASON_CHARS} characters", field="reason")
    return await state.scheduler.set_paused(True, reason)


@post("/api/scheduler/resume", status_code=200, tags=["scheduler"], summary="Resume automated runs")
async def scheduler_resume(state: State) -> SchedulerStatus:
    return await state.scheduler.set_paused(False, None)


SCHEDULER_ROUTES = [scheduler_status, scheduler_pause, scheduler_resume]
