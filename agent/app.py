"""The agent's ASGI app: FastAPI routes, the FastMCP tools at /mcp, the offline model at /offline/v1."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from typing import Any, AsyncIterator

import httpx
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from openai import AsyncOpenAI
from psycopg_pool import AsyncConnectionPool
from sse_starlette import EventSourceResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.memory import MemoryStore
from agent.offline_model import build_offline_router
from agent.schemas import (
    CHAT_EVENTS, RUN_ID_PATTERN, AgentHealth, AnalysisError, AnalysisRequest, AnalysisResponse, AnalysisResult, ChatRequest, SessionDetail,
    Session,
)
from agent.service import AgentService
from agent.settings import AgentSettings
from agent.tools import build_tools_server, openai_tool_schemas
from agent.trading_api import TradingApi
from shared.metrics import MetricsMiddleware, agent_service_metrics, render_metrics
from shared.migrate import apply_migrations

log = logging.getLogger("aitrader.agent")

OPEN_PATHS = frozenset({"/health"})


class BearerAuthMiddleware:
    """Every path but /health needs `Authorization: Bearer <API_TOKEN>` (compared in constant time)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS:
            supplied = b""
            for name, value in scope["headers"]:
                if name == b"authorization":
                    supplied = value
                    break
            if not hmac.compare_digest(supplied, self.expected):
                body = json.dumps({"error": "missing or wrong bearer token", "field": "Authorization"}).encode()
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json"), (b"www-authenticate", b"Bearer"),
                    (b"content-length", str(len(body)).encode()),
                ]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


MAX_BODY_BYTES = 1024 * 1024


class BodyLimitMiddleware:
    """Refuse request bodies over `limit` bytes with 413 before the app reads them: a declared Content-Length is
    checked at once; a chunked body is read up to the limit (never more into memory) and replayed to the app."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"error": f"request body over {self.limit} bytes", "field": "body"}).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None:
            try:
                too_big = int(declared) > self.limit
            except ValueError:
                too_big = False
            if too_big:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(settings: AgentSettings) -> FastAPI:
    token = settings.api_token.get_secret_value()
    holder: dict[str, Any] = {}
    metrics = agent_service_metrics()
    mcp = build_tools_server(lambda: holder["api"], settings.okx_ticker_bar)
    mcp_app = mcp.http_app(path="/mcp")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(apply_migrations, settings.database_url)
        pool = AsyncConnectionPool(settings.database_url, min_size=1, max_size=settings.db_pool_max_size, open=False)
        await pool.open(wait=True, timeout=15)
        http = httpx.AsyncClient(
            base_url=settings.api_base_url, timeout=settings.api_timeout_secs,
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        )
        llm = AsyncOpenAI(
            base_url=settings.llm_base_url, api_key=settings.llm_api_key, max_retries=0,
            timeout=httpx.Timeout(settings.llm_call_timeout_secs, connect=10.0),
        )
        holder["api"] = TradingApi(http)
        try:
            async with mcp_app.lifespan(app):
                app.state.service = AgentService(
                    settings=settings, memory=MemoryStore(pool), api=holder["api"], mcp=mcp, llm=llm,
                    tool_schemas=await openai_tool_schemas(mcp), metrics=metrics,
                )
                app.state.pool = pool
                log.info(
                    "agent ready on %s:%d provider=%s model=%s api=%s",
                    settings.agent_host, settings.agent_port, settings.llm_provider, settings.llm_model, settings.api_base_url,
                )
                yield
        finally:
            await llm.close()
            await http.aclose()
            await pool.close()

    app = FastAPI(title="AiTrader agent", version="0.1.0", lifespan=lifespan)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        message = f"invalid {field}: {first.get('msg', 'invalid value')}"
        return JSONResponse(status_code=422, content={"error": message, "field": field,
                                                      "detail": json.loads(json.dumps(errors, default=str))})

    @app.get("/health", response_model=AgentHealth, summary="Liveness, database state, model provider (no token needed)")
    async def health(request: Request) -> dict[str, Any]:
        database = "ok"
        try:
            async with asyncio.timeout(2):
                async with request.app.state.pool.connection() as conn:
                    await conn.execute("select 1")
        except Exception as exc:
            database = f"error: {type(exc).__name__}"
        return {
            "status": "ok" if database == "ok" else "degraded", "service": "agent", "database": database,
            "provider": settings.llm_provider, "model": settings.llm_model,
        }

    @app.post("/analysis", response_model=AnalysisResponse)
    async def analysis(body: AnalysisRequest, request: Request) -> AnalysisResult | AnalysisError:
        return await request.app.state.service.analyse(body)

    chat_doc = "Server-Sent Events, each `event: <name>` with `data: <JSON>`: " + "; ".join(
        f"`{name}` {model.__name__}" for name, model in CHAT_EVENTS.items())

    @app.post("/chat", response_class=EventSourceResponse, description=chat_doc,
              responses={200: {"description": chat_doc, "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
    async def chat(body: ChatRequest, request: Request) -> EventSourceResponse:
        service: AgentService = request.app.state.service

        async def events() -> AsyncIterator[dict[str, str]]:
            async for item in service.chat(body):
                yield {"event": item["event"], "data": json.dumps(item["data"], ensure_ascii=False, default=str)}

        return EventSourceResponse(events(), ping=15)

    @app.get("/sessions", response_model=list[Session], summary="Conversation sessions, most recently updated first")
    async def sessions(
        request: Request,
        kind: str | None = Query(None, pattern="^(analysis|chat)$"),
        instId: str | None = Query(None, pattern=r"^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}(-(SWAP|[0-9]{6}))?$"),
        limit: int = Query(50, ge=1, le=500),
    ) -> list[dict[str, Any]]:
        return await request.app.state.service.memory.list_sessions(kind, instId, limit)

    @app.get("/sessions/{session_id}", response_model=SessionDetail, summary="One session with its messages, oldest first")
    async def session(session_id: str, request: Request, limit: int = Query(500, ge=1, le=5000)) -> dict[str, Any]:
        found = await request.app.state.service.memory.read_session(session_id, limit)
        if found is None:
            raise HTTPException(status_code=404, detail=f"no session {session_id!r}")
        return found

    @app.get("/usage")
    async def usage(request: Request, runId: str | None = Query(None, pattern=RUN_ID_PATTERN)) -> dict[str, Any]:
        """Today's model usage and cost (UTC day), or the calls of one run."""
        from datetime import datetime, timezone

        memory: MemoryStore = request.app.state.service.memory
        if runId:
            return {"runId": runId, "calls": await memory.run_usage(runId)}
        day_start = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        summary = await memory.usage_summary(day_start)
        summary["dailyBudgetUsd"] = settings.llm_daily_budget_usd
        return summary

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        """Prometheus text format (needs the bearer token like every route but /health)."""
        body, content_type = render_metrics(metrics.registry)
        return Response(content=body, media_type=content_type)

    def openapi_with_chat_events() -> dict[str, Any]:
        """The generated schema plus the SSE event payloads of /chat (FastAPI cannot derive those)."""
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in {m.__name__: m for m in CHAT_EVENTS.values()}.values():
                definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, inner in definition.pop("$defs", {}).items():
                    components.setdefault(name, inner)
                components[model.__name__] = definition
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi_with_chat_events  # type: ignore[method-assign]

    app.include_router(build_offline_router(settings.okx_inst_ids[0]), prefix="/offline/v1")
    app.mount("/", mcp_app)  # last: serves /mcp; FastAPI routes above take precedence
    app.add_middleware(BearerAuthMiddleware, token=token)
    app.add_middleware(BodyLimitMiddleware, limit=MAX_BODY_BYTES)
    # Outermost, so 401s are counted too.
    app.add_middleware(MetricsMiddleware, metrics=metrics.http)
    return app
