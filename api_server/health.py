"""GET /api/health: liveness for anyone; with the bearer token also the state of the database, the OKX feed and the
agent (live or simulated trading, instruments, the feed's last error: not for strangers)."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import aiohttp
import msgspec
from litestar import Request, get
from litestar.datastructures import State

from api_server.auth import token_matches
from api_server.db import database_ok

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class ComponentHealth(msgspec.Struct, omit_defaults=True):
    ok: bool
    detail: str = ""


class OkxHealth(msgspec.Struct):
    ok: bool
    simulated: bool
    simulator: bool
    feed: dict
    instIds: list[str]


class Health(msgspec.Struct, omit_defaults=True):
    """`status` always; the other fields only for a request with the bearer token."""

    status: str
    uptimeSecs: float | None = None
    database: ComponentHealth | None = None
    okx: OkxHealth | None = None
    agent: ComponentHealth | None = None


async def _agent_health(state: State) -> ComponentHealth:
    url = state.settings.agent_base_url + "/health"
    try:
        async with state.http.get(url, timeout=aiohttp.ClientTimeout(total=1.5)) as resp:
            if resp.status == 200:
                return ComponentHealth(ok=True)
            return ComponentHealth(ok=False, detail=f"agent answered HTTP {resp.status}")
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return ComponentHealth(ok=False, detail=f"agent unreachable: {exc.__class__.__name__}")


@get(
    "/api/health",
    opt={"public": True},
    tags=["health"],
    summary="Liveness (public); with the bearer token also the state of database, OKX feed and agent",
)
async def health(state: State, request: Request) -> Health:
    settings = state.settings
    db_ok = await database_ok(state.pool)
    feed = state.feed.status()
    feed_ok = bool(feed.get("state") == "connected" or feed.get("polling"))
    status = "ok" if db_ok and feed_ok else "degraded"
    if not token_matches(settings.api_token, request.headers.get("authorization")):
        return Health(status=status)
    okx = OkxHealth(
        ok=feed_ok,
        simulated=settings.okx_use_simulated,
        simulator=(urlsplit(settings.okx_base_url).hostname or "") in _LOCAL_HOSTS,
        feed=feed,
        instIds=list(settings.okx_inst_ids),
    )
    agent = await _agent_health(state)
    return Health(
        status=status,
        uptimeSecs=round(time.monotonic() - state.started_at, 3),
        database=ComponentHealth(ok=db_ok, detail="" if db_ok else "database unreachable"),
        okx=okx,
        agent=agent,
    )
