"""The trading API application: `create_app(settings)` wires the routes; the lifespan builds the typed
dependencies (`api_server.services.Services`: DB pool, HTTP session, OKX client, ticker book and feed, the
services) and runs the background loops."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
from litestar import Litestar, Response, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from api_server.account.balances import BalanceService
from api_server.account.positions import PositionReader
from api_server.account.routes import AccountController
from api_server.account.sync import AccountSync, SyncLoop
from api_server.auth import OPENAPI_PATH, require_token
from api_server.db import open_pool
from api_server.docs_page import LocalSwaggerPlugin, swagger_asset
from api_server.errors import exception_to_http_response
from api_server.events import EventHub
from api_server.health import health
from api_server.lab.routes import LAB_ROUTES
from api_server.market.instruments import InstrumentCatalog
from api_server.market.routes import MarketController
from api_server.market.service import MarketData
from api_server.notify.service import running_notifier
from api_server.okx.account_mode import verify_account
from api_server.okx.rest import OkxRestClient
from api_server.okx.ws_feed import TickerFeed
from api_server.okx.ws_private import private_feeds
from api_server.scheduler.routes import SCHEDULER_ROUTES
from api_server.scheduler.run_routes import MODEL_ROUTES
from api_server.scheduler.service import SchedulerService
from api_server.services import Services, service_dependencies
from api_server.settings import Settings
from api_server.stream import stream
from api_server.tickers import TickerBook
from api_server.trading.approvals import ApprovalDesk
from api_server.trading.guard import RiskGuard
from api_server.trading.orders import OrderPath
from api_server.trading.routes import TradeController
from shared.metrics import ApiServiceMetrics, FeedAgeCollector, api_service_metrics, render_metrics

log = logging.getLogger("aitrader.api")

MAX_BODY_BYTES = 64 * 1024


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    state = app.state
    settings: Settings = state.settings
    metrics: ApiServiceMetrics = state.metrics
    state.started_at = time.monotonic()
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())
        okx = OkxRestClient(
            http,
            base_url=settings.okx_base_url,
            api_key=settings.okx_api_key,
            api_secret=settings.okx_api_secret,
            passphrase=settings.okx_passphrase,
            simulated=settings.okx_use_simulated,
            timeout_secs=settings.okx_timeout_secs,
            max_retries=settings.okx_max_retries,
        )
        okx.metrics = metrics.okx
        pool = await open_pool(settings.database_url)
        stack.push_async_callback(pool.close)
        events = EventHub(max_subscribers=settings.stream_max_clients)
        tickers = TickerBook()
        tickers.add_listener(lambda ticker: events.publish("ticker", ticker))
        feed_age = FeedAgeCollector(lambda: {i: t.received_at for i, t in tickers.snapshot().items()})
        metrics.registry.register(feed_age)
        stack.callback(metrics.registry.unregister, feed_age)
        instruments = InstrumentCatalog(okx)
        feed = TickerFeed(
            settings.okx_ws_public_url,
            list(settings.okx_inst_ids),
            tickers,
            okx,
            ping_after_secs=settings.okx_ws_ping_secs,
            stale_after_secs=settings.okx_ws_stale_secs,
            poll_secs=settings.okx_rest_poll_secs,
            session=http,
        )
        feed.metrics = metrics.feed
        await feed.start()
        stack.push_async_callback(feed.stop)

        scheduler = SchedulerService(
            settings=settings,
            pool=pool,
            http=http,
            tickers=tickers,
            events=events,
            leader_poll_secs=settings.scheduler_leader_poll_secs,
            metrics=metrics.strategy,
        )
        await scheduler.start()
        stack.push_async_callback(scheduler.stop)

        balances = BalanceService(pool=pool, okx=okx, events=events, settings=settings)
        balances.snapshots.metrics = metrics.snapshots
        sync = AccountSync(pool, okx, on_change=lambda report: events.publish("account", report.as_dict()))
        guard = RiskGuard(
            pool=pool, okx=okx, instruments=instruments, balances=balances, limits=settings.risk, publish=events.publish
        )
        orders = OrderPath(
            pool=pool,
            okx=okx,
            instruments=instruments,
            tickers=tickers,
            events=events,
            balances=balances,
            guard=guard,
            sync=sync,
            stale_after_secs=settings.okx_ws_stale_secs,
        )
        if okx.has_credentials:  # a Spot-mode account or an inverse swap in OKX_INST_IDS stops start-up here
            balances.mode = await verify_account(okx, settings.okx_inst_ids, instruments)
        await balances.start()
        stack.push_async_callback(balances.stop)
        if okx.has_credentials:
            sync_loop = SyncLoop(sync, settings.account_sync_interval_secs)
            sync_loop.start()
            stack.push_async_callback(sync_loop.stop)
            # Fills, orders and positions within a second; REST (the loop above) stays the reconciler.
            await stack.enter_async_context(private_feeds(settings, sync, events.publish, http))
        else:
            log.warning("no OKX API credentials: balance snapshots and the account sync are not started")

        approvals = ApprovalDesk(pool=pool, orders=orders, events=events)

        async def decide_from_chat(approval_id: int, approve: bool) -> str:
            outcome = await approvals.decide(approval_id, approve)
            if not approve:
                return "rejected"
            order = getattr(outcome.body, "order", None)
            return f"approved: order {getattr(order, 'state', 'sent')}"

        await stack.enter_async_context(
            running_notifier(
                settings.notify, http, events, decide=decide_from_chat, feed_connected=lambda: feed.state == "connected"
            )
        )

        state.services = Services(
            settings=settings,
            http=http,
            pool=pool,
            okx=okx,
            events=events,
            tickers=tickers,
            feed=feed,
            instruments=instruments,
            market=MarketData(settings=settings, okx=okx, book=tickers, instruments=instruments),
            balances=balances,
            positions=PositionReader(pool=pool, okx=okx),
            sync=sync,
            guard=guard,
            orders=orders,
            approvals=approvals,
            scheduler=scheduler,
        )
        # the health route reads these (it is the security engineer's to change)
        state.http, state.pool, state.feed = http, pool, feed
        log.info(
            "trading API ready: instruments=%s okx=%s simulated=%s agent=%s",
            ",".join(settings.okx_inst_ids),
            settings.okx_base_url,
            settings.okx_use_simulated,
            settings.agent_base_url,
        )
        yield
    log.info("trading API stopped")


@get("/api/hello", include_in_schema=False)
async def hello() -> dict[str, str]:
    """A bare route for the benchmark's baseline (behind the token like the routes it is compared with)."""
    return {"hello": "world"}


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def prometheus_metrics(state: State) -> Response:
    """Prometheus text format (bearer token like every route but /api/health)."""
    body, content_type = render_metrics(state.metrics.registry)
    return Response(body, media_type=content_type)


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
        # The Swagger page's assets come from the API itself, never a CDN (api_server/docs_page.py).
        render_plugins=[JsonRenderPlugin(), LocalSwaggerPlugin()],
        components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
        security=[{"bearer": []}],
        use_handler_docstrings=True,
    )
    cors = (
        CORSConfig(allow_origins=list(settings.cors_origins), allow_headers=["Authorization", "Content-Type"])
        if settings.cors_origins
        else None
    )
    return Litestar(
        route_handlers=[
            health,
            hello,
            swagger_asset,
            prometheus_metrics,
            stream,
            MarketController,
            *SCHEDULER_ROUTES,
            *MODEL_ROUTES,
            AccountController,
            TradeController,
            *LAB_ROUTES,
        ],
        state=State({"settings": settings, "metrics": metrics}),
        dependencies=service_dependencies(),
        guards=[require_token],
        exception_handlers={Exception: exception_to_http_response},
        lifespan=[lifespan],
        openapi_config=openapi,
        cors_config=cors,
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
    )
