"""The typed dependencies the lifespan builds (`Services`), and their Litestar providers: a route declares
`orders: OrderPath` (or `pool: AsyncConnectionPool`, ...) and gets the one instance by that name."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import aiohttp
from litestar.datastructures import State
from litestar.di import Provide
from psycopg_pool import AsyncConnectionPool

from api_server.account.balances import BalanceService
from api_server.account.positions import PositionReader
from api_server.account.sync import AccountSync
from api_server.events import EventHub
from api_server.market.instruments import InstrumentCatalog
from api_server.market.service import MarketData
from api_server.okx.rest import OkxRestClient
from api_server.okx.ws_feed import TickerFeed
from api_server.scheduler.service import SchedulerService
from api_server.settings import Settings
from api_server.tickers import TickerBook
from api_server.trading.approvals import ApprovalDesk
from api_server.trading.guard import RiskGuard
from api_server.trading.orders import OrderPath


@dataclasses.dataclass(frozen=True)
class Services:
    settings: Settings
    http: aiohttp.ClientSession
    pool: AsyncConnectionPool
    okx: OkxRestClient
    events: EventHub
    tickers: TickerBook
    feed: TickerFeed
    instruments: InstrumentCatalog
    market: MarketData
    balances: BalanceService
    positions: PositionReader
    sync: AccountSync
    guard: RiskGuard
    orders: OrderPath
    approvals: ApprovalDesk
    scheduler: SchedulerService


def _provider(name: str) -> Callable[[State], Any]:
    def provide(state: State) -> Any:
        return getattr(state.services, name)

    provide.__name__ = f"provide_{name}"
    return provide


def service_dependencies() -> dict[str, Provide]:
    """One provider per `Services` field, named like the field (the routes' parameter names)."""
    return {
        f.name: Provide(_provider(f.name), sync_to_thread=False)
        for f in dataclasses.fields(Services)
        if f.name not in ("settings", "http")
    }
