"""The agent's ASGI app: FastAPI routes, the FastMCP tools at /mcp, the offline model at /offline/v1."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from openai import AsyncOpenAI
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.llm import ModelClient
from agent.mcp_tokens import SCOPES, McpCaller, McpTokenStore, TokenRequestError
from agent.memory import MemoryStore
from agent.offline_server import build_offline_router
from agent.schemas import (
    CHAT_EVENTS,
    RUN_ID_PATTERN,
    AgentHealth,
    AnalysisError,
    AnalysisRequest,
    AnalysisResponse,
    AnalysisResult,
    ChatRequest,
    Session,
    SessionDetail,
)
from agent.service import AgentService
from agent.settings import AgentSettings
from agent.tools import MCP_CALLER_STATE, build_tools_server, openai_tool_schemas
from agent.trading_api import TradingApi
from shared.metrics import MetricsMiddleware, agent_service_metrics, render_metrics
from shared.migrate import apply_migrations

log = logging.getLogger("aitrader.agent")

OPEN_PATHS = frozenset({"/health"})
MCP_PATH = "/mcp"


def error_body(status: int, detail: str, field: str | None) -> dict[str, Any]:
    """The one error shape of every service (the API's too)."""
    return {"status_code": status, "detail": detail, "field": field}


async def send_error(
    send: Send, status: int, detail: str, field: str | None, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    body = json.dumps(error_body(status, detail, field)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BearerAuthMiddleware:
    """Every path but /health needs `Authorization: Bearer <API_TOKEN>` (compared in constant time), except /mcp,
    which takes only named MCP tokens (`agent.mcp_tokens`): the master token is never handed to MCP clients."""

    def __init__(self, app: ASGIApp, token: str, mcp_tokens: Callable[[], McpTokenStore | None]) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.mcp_tokens = mcp_tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS:
            supplied = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
            path = scope["path"]
            if path == MCP_PATH or path.startswith(MCP_PATH + "/"):
                caller = await self._mcp_caller(supplied)
                if caller is None:
                    await send_error(
                        send,
                        401,
                        "missing, wrong or revoked MCP token (create one: make mcp-token)",
                        "Authorization",
                        ((b"www-authenticate", b"Bearer"),),
                    )
                    return
                scope.setdefault("state", {})[MCP_CALLER_STATE] = {"name": caller.name, "scopes": list(caller.scopes)}
            elif not hmac.compare_digest(supplied, self.expected):
                await send_error(
                    send, 401, "missing or wrong bearer token", "Authorization", ((b"www-authenticate", b"Bearer"),)
                )
                return
        await self.app(scope, receive, send)

    async def _mcp_caller(self, supplied: bytes) -> McpCaller | None:
        store = self.mcp_tokens()
        if store is None or not supplied.startswith(b"Bearer "):
            return None
        return await store.verify(supplied[len(b"Bearer ") :].decode("latin-1").strip())


MAX_BODY_BYTES = 1024 * 1024


class FieldHTTPException(HTTPException):
    """An HTTP error that names the field it is about (the one error shape)."""

    def __init__(self, status_code: int, detail: str, field: str | None) -> None:
        super().__init__(status_code=status_code, detail=detail)
        self.field = field


class ErrorBody(BaseModel):
    """The one error shape of every service."""

    status_code: int
    detail: str
    field: str | None


class McpTokenCreate(BaseModel):
    name: str = Field(
        pattern=r"^[A-Za-z0-9_.-]{1,48}$", description="becomes the origin mcp:<name> of its trading calls"
    )
    scopes: list[str] = Field(default_factory=lambda: ["read"], description=f"any of {', '.join(SCOPES)}")


class BodyLimitMiddleware:
    """Refuse request bodies over `limit` bytes with 413 before the app reads them: a declared Content-Length is
    checked at once; a chunked body is read up to the limit (never more into memory) and replayed to the app."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def _refuse(self, send: Send) -> None:
        await send_error(send, 413, f"request body over {self.limit} bytes", "body", ((b"connection", b"close"),))

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
    mcp_tokens: Callable[[], McpTokenStore | None] = lambda: holder.get("mcp_tokens")
    mcp_app = mcp.http_app(path="/mcp")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(apply_migrations, settings.database_url)
        pool = AsyncConnectionPool(settings.database_url, min_size=1, max_size=settings.db_pool_max_size, open=False)
        await pool.open(wait=True, timeout=15)
        http = httpx.AsyncClient(
            base_url=settings.api_base_url,
            timeout=settings.api_timeout_secs,
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        )
        llm = AsyncOpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key,
            max_retries=0,
            timeout=httpx.Timeout(settings.llm_call_timeout_secs, connect=10.0),
        )
        holder["api"] = TradingApi(http)
        holder["mcp_tokens"] = McpTokenStore(pool)
        try:
            async with mcp_app.lifespan(app):
                app.state.service = AgentService(
                    settings=settings,
                    memory=MemoryStore(pool),
                    api=holder["api"],
                    mcp=mcp,
                    model=ModelClient(llm, settings.model, settings.request_extras),
                    tool_schemas=await openai_tool_schemas(mcp),
                    metrics=metrics,
                )
                app.state.pool = pool
                app.state.mcp_tokens = holder["mcp_tokens"]
                log.info(
                    "agent ready on %s:%d provider=%s model=%s base_url=%s api=%s daily budget $%.2f",
                    settings.agent_host,
                    settings.agent_port,
                    settings.llm_provider,
                    settings.model,
                    settings.base_url,
                    settings.api_base_url,
                    settings.llm_daily_budget_usd,
                )
                yield
        finally:
            await llm.close()
            await http.aclose()
            await pool.close()

    app = FastAPI(title="AiTrader agent", version="0.1.0", lifespan=lifespan)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        """400 like the API for a body or query it cannot accept, naming the first bad field."""
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        if first.get("type") == "json_invalid":
            field = "body"
        message = f"invalid {field}: {str(first.get('msg', 'invalid value')).removeprefix('Value error, ')}"
        return JSONResponse(status_code=400, content=error_body(400, message, field))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        field = getattr(exc, "field", None)
        return JSONResponse(
            status_code=exc.status_code,
            content=error_body(exc.status_code, str(exc.detail), field),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(TokenRequestError)
    async def bad_token_request(request: Request, exc: TokenRequestError) -> JSONResponse:
        status = 409 if "exists" in str(exc) else 400
        return JSONResponse(status_code=status, content=error_body(status, str(exc), exc.field))

    @app.post("/mcp-tokens", status_code=201, summary="Create a named MCP token (shown once); master token only")
    async def create_mcp_token(body: McpTokenCreate, request: Request) -> dict[str, Any]:
        return await request.app.state.mcp_tokens.create(body.name, body.scopes)

    @app.get("/mcp-tokens", summary="MCP tokens (names, scopes, use; never the tokens)")
    async def list_mcp_tokens(request: Request) -> dict[str, Any]:
        return {"tokens": await request.app.state.mcp_tokens.list()}

    @app.delete("/mcp-tokens/{name}", summary="Revoke an MCP token")
    async def revoke_mcp_token(name: str, request: Request) -> dict[str, Any]:
        if not await request.app.state.mcp_tokens.revoke(name):
            raise FieldHTTPException(404, f"no live MCP token named {name!r}", "name")
        return {"name": name, "revoked": True}

    @app.get(
        "/health", response_model=AgentHealth, summary="Liveness, database state, model provider (no token needed)"
    )
    async def health(request: Request) -> dict[str, Any]:
        database = "ok"
        try:
            async with asyncio.timeout(2):
                async with request.app.state.pool.connection() as conn:
                    await conn.execute("select 1")
        except Exception as exc:
            database = f"error: {type(exc).__name__}"
        return {
            "status": "ok" if database == "ok" else "degraded",
            "service": "agent",
            "database": database,
            "provider": settings.llm_provider,
            "model": settings.model,
        }

    @app.post("/analysis", response_model=AnalysisResponse)
    async def analysis(body: AnalysisRequest, request: Request) -> AnalysisResult | AnalysisError:
        return await request.app.state.service.analyse(body)

    chat_doc = "Server-Sent Events, each `event: <name>` with `data: <JSON>`: " + "; ".join(
        f"`{name}` {model.__name__}" for name, model in CHAT_EVENTS.items()
    )

    @app.post(
        "/chat",
        response_class=EventSourceResponse,
        description=chat_doc,
        responses={200: {"description": chat_doc, "content": {"text/event-stream": {"schema": {"type": "string"}}}}},
    )
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

    @app.get(
        "/sessions/{session_id}", response_model=SessionDetail, summary="One session with its messages, oldest first"
    )
    async def session(session_id: str, request: Request, limit: int = Query(500, ge=1, le=5000)) -> dict[str, Any]:
        found = await request.app.state.service.memory.read_session(session_id, limit)
        if found is None:
            raise FieldHTTPException(404, f"no session {session_id!r}", "session_id")
        return found

    @app.get("/usage")
    async def usage(request: Request, runId: str | None = Query(None, pattern=RUN_ID_PATTERN)) -> dict[str, Any]:
        """Today's model usage and cost (UTC day), or the calls of one run."""
        from datetime import datetime

        memory: MemoryStore = request.app.state.service.memory
        if runId:
            return {"runId": runId, "calls": await memory.run_usage(runId)}
        day_start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
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
            # Bad input is answered 400 in the one error shape (invalid_request above), not FastAPI's 422.
            components["ErrorBody"] = ErrorBody.model_json_schema()
            for path_item in schema.get("paths", {}).values():
                for operation in path_item.values():
                    responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
                    if responses.pop("422", None) is not None:
                        responses["400"] = {
                            "description": "Bad input: the field is named",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                        }
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi_with_chat_events  # type: ignore[method-assign]

    app.include_router(build_offline_router(settings.okx_inst_ids[0]), prefix="/offline/v1")
    app.mount("/", mcp_app)  # last: serves /mcp; FastAPI routes above take precedence
    app.add_middleware(BearerAuthMiddleware, token=token, mcp_tokens=mcp_tokens)
    app.add_middleware(BodyLimitMiddleware, limit=MAX_BODY_BYTES)
    # Outermost, so 401s are counted too.
    app.add_middleware(MetricsMiddleware, metrics=metrics.http)
    return app
