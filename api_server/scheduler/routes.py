"""Scheduler status and its kill switch: `GET /api/scheduler/status`, `POST /api/scheduler/pause` / `resume`.

Pause stops automated runs (volatility and schedule) in the process that runs the scheduler, whichever API
process receives the request; manual runs are still allowed. Answers with the status after the change.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

import msgspec
from litestar import get, post

from api_server.bodies import decode_optional_body, json_body, optional_body_operation
from api_server.errors import BadRequest
from api_server.scheduler.service import SchedulerService
from api_server.scheduler.status import SchedulerStatus

MAX_REASON_CHARS = 500


class PauseRequest(msgspec.Struct, kw_only=True):
    reason: Annotated[
        str | None,
        msgspec.Meta(
            extra_json_schema={"description": f"why (shown with the status), at most {MAX_REASON_CHARS} characters"}
        ),
    ] = None


@get(
    "/api/scheduler/status", tags=["scheduler"], summary="Scheduler status: per-instrument trigger state, pause, leader"
)
async def scheduler_status(scheduler: SchedulerService) -> SchedulerStatus:
    return await scheduler.status()


@post(
    "/api/scheduler/pause",
    status_code=200,
    tags=["scheduler"],
    summary="Pause automated runs (manual runs still allowed)",
    dto=json_body(PauseRequest, partial(decode_optional_body, kind=PauseRequest)),
    return_dto=None,
    operation_class=optional_body_operation,
)
async def scheduler_pause(scheduler: SchedulerService, data: PauseRequest | None = None) -> SchedulerStatus:
    body = data if data is not None else PauseRequest()
    reason = (body.reason or "").strip() or "paused by a user"
    if len(reason) > MAX_REASON_CHARS:
        raise BadRequest(f"reason: at most {MAX_REASON_CHARS} characters", field="reason")
    return await scheduler.set_paused(True, reason)


@post("/api/scheduler/resume", status_code=200, tags=["scheduler"], summary="Resume automated runs")
async def scheduler_resume(scheduler: SchedulerService) -> SchedulerStatus:
    return await scheduler.set_paused(False, None)


SCHEDULER_ROUTES = [scheduler_status, scheduler_pause, scheduler_resume]
