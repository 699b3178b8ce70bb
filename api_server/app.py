"""The trading API application: `create_app(settings)` wires routes, and the lifespan creates and injects
the dependencies (DB pool, HTTP session, OKX client, ticker book and feed, background loops)."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import AsyncIterator

import aiohttp
from litestar import Litestar, Response, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from api_server.account import account_service
from api_server.auth import OPENAPI_PATH, require_token
from api_server.db import open_pool
from api_server.errors import exception_to_http_response
from api_server.events import EventHub
from api_server.instruments import InstrumentCatalog
from api_server.okx.rest import OkxRestClient
from api_server.okx.ws_feed import TickerFeed
from api_server.lab.routes import LAB_ROUTES
from api_server.routes.account import AccountController
from api_server.routes.health import health
from api_server.routes.market import MarketController, MarketData
from api_server.routes.model import MODEL_ROUTES
from api_server.routes.scheduler import SCHEDULER_ROUTES
from api_server.routes.stream import stream
from api_server.routes.trade import TradeController
from api_server.scheduler.loop import scheduler_service
from api_server.settings import Settings
from api_server.tickers import TickerBook
from shared.metrics import ApiServiceMetrics, FeedAgeCollector, api_service_metrics, render_metrics


log = logging.getLogger("aitrader.api")

MAX_BODY_BYTES = 64 * 1024


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    state = app.state
    settings: Settings = state.settings
    state.started_at = time.monotonic()
    async with contextlib.AsyncExitStack() as stack:
        state.http = await stack.enter_async_context(aiohttp.ClientSession())
        state.okx = OkxRestClient(
            state.http,
            base_url=settings.okx_base_url,
            api_key=settings.okx_api_key,
            api_secret=settings.okx_api_secret,
            passphrase=settings.okx_passphrase,
            simulated=settings.okx_use_simulated,
            timeout_secs=settings.okx_timeout_secs,
            max_retries=settings.okx_max_retries,
        )
        state.okx.metrics = state.metrics.okx
        state.pool = await open_pool(settings.database_url)
        stack.push_async_callback(state.pool.close)
        state.events = EventHub()
        state.tickers = TickerBook()
        state.tickers.add_listener(lambda ticker: state.events.publish("ticker", ticker))
        feed_age = FeedAgeCollector(lambda: {i: t.received_at for i, t in state.tickers.snapshot().items()})
        state.metrics.registry.register(feed_age)
        stack.callback(state.metrics.registry.unregister, feed_age)
        state.instruments = InstrumentCatalog(state.okx)
        state.market = MarketData(state)
        state.feed = TickerFeed(
            settings.okx_ws_public_url,
            list(settings.okx_inst_ids),
            state.tickers,
            state.okx,
            ping_after_secs=settings.okx_ws_ping_secs,
            stale_after_secs=settings.okx_ws_stale_secs,
            poll_secs=settings.okx_rest_poll_secs,
            session=state.http,
        )
        state.feed.metrics = state.metrics.feed
        state.strategy_metrics = state.metrics.strategy
        await state.feed.start()
        stack.push_async_callback(state.feed.stop)
        await stack.enter_async_context(scheduler_service(state))
        await stack.enter_async_context(account_service(state))
        if getattr(state, "account", None) is not None:
            state.account.snapshots.metrics = state.metrics.snapshots
        log.info(
            "trading API ready: instruments=%s okx=%s simulated=%s agent=%s",
            ",".join(settings.okx_inst_ids), settings.okx_base_url, settings.okx_use_simulated, settings.agent_base_url,
        )
        yield
    log.info("trading API stopped")


@get("/api/hello", opt={"public": True}, include_in_schema=False)
async def hello() -> dict[str, str]:
    """A bare route for the benchmark's baseline."""
    return {"hello": "world"}


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def prometheus_metrics(state: State) -> Response:
    """Prometheus text format (bearer token like every route but /api/health)."""
    body, content_type = render_metrics(state.metrics.registry)
    return Response(body, media_type=content_type)


def provide_market(state: State) -> MarketData:
    return state.market


def create_app(settings: Settings, metrics: ApiServiceMetrics | None = None) -> Litestar:
    if not settings.database_url:
        from shared.envfile import SettingsError

        raise SettingsError("DATABASE_URL", "is required (make run / make test set it to a project-local cluster)")
    if not settings.api_token:
        from shared.envfile import SettingsError

        raise SettingsError("API_TOKEN", "is required (make run generates one into .env)")
    if metrics is None:
        metrics = api_service_metrics()
    openapi = OpenAPIConfig(
        title="AiTrader trading API",
        version="0.1.0",
        path=OPENAPI_PATH,
        render_plugins=[JsonRenderPlugin(), SwaggerRenderPlugin()],
        components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
        security=[{"bearer": []}],
        use_handler_docstrings=True,
    )
    cors = CORSConfig(allow_origins=list(settings.cors_origins), allow_headers=["Authorization", "Content-Type"]) if settings.cors_origins else None
    return Litestar(
        route_handlers=[health, hello, prometheus_metrics, stream, MarketController, *SCHEDULER_ROUTES, *MODEL_ROUTES, AccountController, TradeController, *LAB_ROUTES],
        state=State({"settings": settings, "metrics": metrics}),
        dependencies={"market": Provide(provide_market, sync_to_thread=False)},
        guards=[require_token],
        exception_handlers={Exception: exception_to_http_response},
        lifespan=[lifespan],
        openapi_config=openapi,
        cors_config=cors,
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
    )
