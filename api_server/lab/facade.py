"""The trading API as the agent's tools see it, served in-process over the backtest's exchange.

`LabApiTransport` is an `httpx.AsyncBaseTransport`: the agent's real `TradingApi` client, its real FastMCP
tools and its real context builder send their ordinary HTTP requests (`/api/market/...`, `/api/account/...`,
`/api/trade/...`), and this answers them with the live API's JSON shapes from the simulated market at time t,
with no socket in between (a backtest makes ~10 such calls per analysis, thousands of analyses per backtest).

Orders follow the live order path's rules, with the same pure code: sizing (`api_server.trading.sizing`:
`validate_size`, `contracts_for_notional`), the risk guard (`api_server.trading.risk.check_order`, `daily_loss_state`,
`order_reduces_position`), then the OKX simulator's matching engine. Differences from the live API, on purpose:
no database records (a backtest never writes the live tables) and approval mode cannot wait for a person, so
an order that needs approval is taken as approved at once (recorded in the answer's `risk.message`).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

import httpx

from agent.origin import ORIGIN_HEADER
from api_server.lab.exchange import LabExchange
from api_server.lab.market import MarketView
from api_server.trading.risk import (
    AccountView,
    OrderIntent,
    RiskLimits,
    check_order,
    daily_loss_state,
    order_reduces_position,
)
from api_server.trading.sizing import SizingError, contracts_for_notional, validate_size
from okxsim.engine import OrderRejected, OrderRequest, RequestRejected
from okxsim.wire import ParamError
from shared.instruments import bar_ms, is_valid_bar


class LabRequestError(Exception):
    def __init__(self, status: int, detail: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.detail, self.field, self.extra = status, detail, field, extra


def _s(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _dec(body: dict[str, Any], name: str, *, required: bool = False) -> Decimal | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise LabRequestError(400, f"{name} is required", name)
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise LabRequestError(400, f"{name}: expected a decimal string, got {value!r}", name) from None
    if not number.is_finite() or number <= 0:
        raise LabRequestError(400, f"{name}: expected a positive number, got {value!r}", name)
    return number


class LabTradingApi:
    """The API's answers over one `LabExchange` + `MarketView` at simulated time."""

    def __init__(self, exchange: LabExchange, market: MarketView, limits: RiskLimits, initial_equity: Decimal) -> None:
        self.exchange, self.market, self.limits = exchange, market, limits
        self.initial_equity = initial_equity
        self.orders_placed: list[dict[str, Any]] = []
        self._day: int | None = None
        self._day_start_equity = initial_equity
        self._latched_at: datetime | None = None
        self.calls: dict[str, int] = {}
        self._ids = 0
        self.api_secs = 0.0  # wall time inside the API's handlers (market views, risk guard, matching)
        self._origin = "manual"  # of the request being handled

    def _new_cl_ord_id(self) -> str:
        """Deterministic client order ids (they reach the model's context: random ones would defeat the cache)."""
        self._ids += 1
        return f"lab{self._ids:08d}"

    # ---- dispatch ------------------------------------------------------------------------
    def handle(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any], origin: str | None = None
    ) -> tuple[int, Any]:
        """`origin`: the `X-AiTrader-Origin` header (CONTRACT interface 1), recorded on the orders as the live API does."""
        self.calls[path] = self.calls.get(path, 0) + 1
        self._origin = origin or "manual"
        route = _ROUTES.get((method, path))
        if route is None:
            raise LabRequestError(404, f"{method} {path} is not available in a backtest", "path")
        started = time.perf_counter()
        try:
            return route(self, query, body)
        finally:
            self.api_secs += time.perf_counter() - started

    def _inst(self, query: dict[str, Any]) -> str:
        inst_id = query.get("instId") or query.get("symbol")
        if not inst_id:
            raise LabRequestError(400, "instId is required", "instId")
        if inst_id != self.exchange.inst_id:
            raise LabRequestError(404, f"this backtest replays {self.exchange.inst_id} only, not {inst_id}", "instId")
        return inst_id

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.market.now_ms / 1000, UTC)

    # ---- market --------------------------------------------------------------------------
    def ticker(self, query: dict[str, str], _: Any) -> tuple[int, Any]:
        inst_id = self._inst(query)
        q = self.exchange.quotes[inst_id]
        o24, h24, l24, v24 = self.market.window_24h()
        return 200, {
            "instId": inst_id,
            "last": _s(q.last),
            "lastSz": "0",
            "askPx": _s(q.ask),
            "askSz": "0",
            "bidPx": _s(q.bid),
            "bidSz": "0",
            "open24h": _s(o24),
            "high24h": _s(h24),
            "low24h": _s(l24),
            "vol24h": _s(v24),
            "volCcy24h": _s(v24),
            "ts": str(self.market.now_ms),
            "bar": self.market.bar,
            "barCandle": self.market.forming(),
            "source": "backtest",
            "ageMs": 0,
        }

    def candles(self, query: dict[str, str], _: Any) -> tuple[int, Any]:
        inst_id = self._inst(query)
        bar = query.get("bar") or self.market.bar
        if not is_valid_bar(bar):
            raise LabRequestError(400, f"bar {bar!r} is not an OKX bar", "bar")
        wanted = bar_ms(bar)
        if wanted % self.market.bar_ms:
            raise LabRequestError(
                400, f"the dataset has {self.market.bar} candles; bar must be a multiple of it", "bar"
            )
        try:
            limit = max(1, min(int(query.get("limit") or 100), 300))
        except ValueError:
            raise LabRequestError(400, "limit must be an integer", "limit") from None
        return 200, {"instId": inst_id, "bar": bar, "candles": self.market.candles_for(wanted, limit)}

    def books(self, query: dict[str, str], _: Any) -> tuple[int, Any]:
        inst_id = self._inst(query)
        q = self.exchange.quotes[inst_id]
        return 200, {
            "instId": inst_id,
            "asks": [[_s(q.ask), "0", "0", "0"]],
            "bids": [[_s(q.bid), "0", "0", "0"]],
            "ts": str(self.market.now_ms),
            "note": "backtest: no order book, one level at the path price ± slippage",
        }

    def trades(self, query: dict[str, str], _: Any) -> tuple[int, Any]:
        inst_id = self._inst(query)
        return 200, {"instId": inst_id, "trades": [], "note": "backtest: candles only, no trade tape"}

    def instruments(self, query: dict[str, str], _: Any) -> tuple[int, Any]:
        self._inst(query)
        return 200, {"instruments": [self.exchange.spec.as_okx()]}

    def funding(self, query: dict[str, str], _: Any) -> tuple[int, Any]:
        inst_id = self._inst(query)
        return 200, {
            "instId": inst_id,
            "fundingRate": _s(self.exchange.funding_rate_at(self.market.now_ms)),
            "fundingTime": str(self.exchange.next_funding_time()),
        }

    # ---- account -------------------------------------------------------------------------
    def balances(self, _: Any, __: Any) -> tuple[int, Any]:
        view = self.exchange.engine.balance_view(self.exchange.quotes, self.market.now_ms)
        d = view["details"][0]
        eq = Decimal(view["totalEq"])
        pnl = eq - self.initial_equity
        return 200, {
            "totalEq": view["totalEq"],
            "totalEqCcy": "USD",
            "usdt": {"eq": d["eq"], "available": d["availBal"], "frozen": d["frozenBal"], "cashBal": d["cashBal"]},
            "usdtAvailable": d["availBal"],
            "usdtFrozen": d["frozenBal"],
            "upl": view["upl"],
            "details": [{k: d[k] for k in ("ccy", "eq", "availBal", "frozenBal", "upl", "eqUsd", "cashBal")}],
            "initialEquity": {"amount": _s(self.initial_equity)},
            "pnl": _s(pnl),
            "pnlPct": _s((pnl / self.initial_equity * 100).quantize(Decimal("0.0001")))
            if self.initial_equity
            else None,
            "uTime": view["uTime"],
            "ts": str(self.market.now_ms),
        }

    def positions(self, query: dict[str, str], _: Any) -> tuple[int, Any]:
        rows = []
        for p in self.exchange.engine.positions_view(self.exchange.quotes):
            algo = (p.get("closeOrderAlgo") or [{}])[0]
            rows.append(
                {
                    k: p[k]
                    for k in (
                        "instId",
                        "mgnMode",
                        "posSide",
                        "posId",
                        "pos",
                        "avgPx",
                        "markPx",
                        "upl",
                        "uplRatio",
                        "lever",
                        "liqPx",
                        "notionalUsd",
                        "realizedPnl",
                    )
                }
                | {
                    "tpTriggerPx": algo.get("tpTriggerPx") or None,
                    "slTriggerPx": algo.get("slTriggerPx") or None,
                    "recordId": None,
                    "openedAt": p["cTime"],
                }
            )
        return 200, {"positions": rows}

    def open_orders(self, query: dict[str, str], _: Any) -> tuple[int, Any]:
        return 200, {"orders": [self._order_record(o) for o in self.exchange.engine.live.values()]}

    def _order_record(self, o: Any, run_id: str | None = None) -> dict[str, Any]:
        algo = o.attach_algos[0] if o.attach_algos else None
        return {
            "clOrdId": o.cl_ord_id,
            "ordId": o.ord_id,
            "instId": o.inst_id,
            "origin": self._origin,
            "runId": run_id,
            "purpose": "close" if o.reduce_only else "order",
            "side": o.side,
            "posSide": o.pos_side,
            "ordType": o.ord_type,
            "tdMode": o.td_mode,
            "sz": _s(o.sz),
            "px": _s(o.px),
            "reduceOnly": o.reduce_only,
            "lever": str(o.lever),
            "tpTriggerPx": _s(algo.tp_trigger_px) if algo else None,
            "slTriggerPx": _s(algo.sl_trigger_px) if algo else None,
            "state": o.state,
            "accFillSz": _s(o.acc_fill_sz),
            "avgPx": _s(o.avg_px),
            "fee": _s(o.fee),
            "error": None,
            "createdAt": self._now().isoformat(timespec="seconds"),
        }

    # ---- risk ----------------------------------------------------------------------------
    def _account_view(self) -> tuple[AccountView, Any]:
        equity = self.exchange.equity()
        day = self.market.now_ms // 86_400_000
        if day != self._day:
            self._day, self._day_start_equity = day, equity
        state = daily_loss_state(
            self._day_start_equity, equity, self.limits.daily_loss_limit_pct, self._latched_at, None, self._now()
        )
        self._latched_at = state.latched_at
        exposure: dict[str, Decimal] = {}
        for p in self.exchange.engine.positions.values():
            exposure[p.inst_id] = (
                exposure.get(p.inst_id, Decimal(0)) + p.size * self.exchange.spec.ct_val * self.exchange.last
            )
        for o in self.exchange.engine.live.values():
            if not o.reduce_only and o.px is not None:
                exposure[o.inst_id] = (
                    exposure.get(o.inst_id, Decimal(0)) + (o.sz - o.acc_fill_sz) * self.exchange.spec.ct_val * o.px
                )
        return AccountView(
            equity=equity,
            open_exposure_by_inst=exposure,
            day_start_equity=self._day_start_equity,
            daily_loss_latched=state.latched,
        ), state

    def risk(self, _: Any, __: Any) -> tuple[int, Any]:
        account, state = self._account_view()
        lim = self.limits
        return 200, {
            "limits": {
                "maxLeverage": _s(lim.max_leverage),
                "maxOrderPct": _s(lim.max_order_pct),
                "maxExposurePct": _s(lim.max_exposure_pct),
                "dailyLossLimitPct": _s(lim.daily_loss_limit_pct),
                "requireStopLoss": lim.require_stop_loss,
                "approvalMode": lim.approval_mode,
                "allowedInstIds": sorted(lim.allowed_inst_ids),
            },
            "state": {
                "equity": _s(account.equity),
                "day": state.day.isoformat(),
                "dayStartEquity": _s(state.day_start_equity),
                "dayLoss": _s(state.loss),
                "maxDayLoss": _s(state.max_loss),
                "dailyLossLatched": state.latched,
                "latchedAt": state.latched_at.isoformat() if state.latched_at else None,
                "resetAt": None,
                "reopensAt": state.reopens_at.isoformat(),
                "openExposure": _s(account.open_exposure),
                "openExposureByInst": {k: _s(v) for k, v in account.open_exposure_by_inst.items()},
            },
        }

    # ---- trading -------------------------------------------------------------------------
    def place_order(self, _: Any, body: dict[str, Any]) -> tuple[int, Any]:
        inst_id = self._inst(body)
        side = body.get("side")
        if side not in ("buy", "sell"):
            raise LabRequestError(400, "side must be buy or sell", "side")
        ord_type = body.get("ordType", "market")
        if ord_type not in ("market", "limit"):
            raise LabRequestError(400, "ordType must be market or limit", "ordType")
        td_mode = body.get("tdMode", "cross")
        if td_mode not in ("cross", "isolated"):
            raise LabRequestError(400, "tdMode must be cross or isolated", "tdMode")
        px = _dec(body, "px", required=ord_type == "limit")
        if ord_type == "market" and px is not None:
            raise LabRequestError(400, "px is only for limit orders", "px")
        cl_ord_id = body.get("clOrdId") or self._new_cl_ord_id()
        if cl_ord_id in self.exchange.engine.cl_ids:
            order = self.exchange.engine.orders[self.exchange.engine.cl_ids[cl_ord_id]]
            return 200, {"duplicate": True, "clOrdId": cl_ord_id, "order": self._order_record(order, body.get("runId"))}
        spec = self.exchange.spec
        price = px or self.exchange.last
        try:
            if body.get("sz") is not None:
                sz = validate_size(str(body["sz"]), spec.lot_sz, spec.min_sz)
            elif body.get("notionalUsdt") is not None:
                sz = contracts_for_notional(str(body["notionalUsdt"]), price, spec.ct_val, spec.lot_sz, spec.min_sz)
            else:
                raise LabRequestError(400, "give sz (contracts) or notionalUsdt", "sz")
        except SizingError as exc:
            raise LabRequestError(400, exc.message, exc.field) from None
        if body.get("posSide") not in (None, "net"):
            raise LabRequestError(400, "posSide: the backtest account is in net mode, posSide must be net", "posSide")
        reduce_only = bool(body.get("reduceOnly"))
        tp, sl = _dec(body, "tpTriggerPx"), _dec(body, "slTriggerPx")
        held = self.exchange.position_contracts()
        closing = reduce_only or order_reduces_position(side, "net", sz, held)
        if not closing:
            above, below = (tp, sl) if side == "buy" else (sl, tp)
            if above is not None and above <= price:
                raise LabRequestError(
                    400,
                    f"{'tpTriggerPx' if side == 'buy' else 'slTriggerPx'} must be above the price {price}",
                    "tpTriggerPx" if side == "buy" else "slTriggerPx",
                )
            if below is not None and below >= price:
                raise LabRequestError(
                    400,
                    f"{'slTriggerPx' if side == 'buy' else 'tpTriggerPx'} must be below the price {price}",
                    "slTriggerPx" if side == "buy" else "tpTriggerPx",
                )
        leverage = body.get("leverage")
        lever = (
            Decimal(int(leverage))
            if leverage is not None
            else Decimal(self.exchange.engine.lever_for(inst_id, td_mode))
        )
        intent = OrderIntent(
            inst_id=inst_id,
            side=side,
            pos_side="net",
            sz=sz,
            price=price,
            ct_val=spec.ct_val,
            leverage=lever,
            closing=closing,
            has_stop_loss=sl is not None,
            origin="agent",
        )
        account, _ = self._account_view()
        decision = check_order(intent, account, self.limits, self._now())
        if not decision.allowed:
            raise LabRequestError(
                422, decision.message, None, rule=decision.rule, limit=decision.limit, actual=decision.actual
            )
        try:
            if leverage is not None:
                self.exchange.engine.set_leverage(inst_id, str(int(leverage)), td_mode)
            algos = (
                [{"tpTriggerPx": _s(tp) or "", "slTriggerPx": _s(sl) or ""}] if (tp or sl) and not reduce_only else []
            )
            order = self.exchange.place(
                OrderRequest(
                    inst_id=inst_id,
                    td_mode=td_mode,
                    side=side,
                    ord_type=ord_type,
                    sz=_s(sz),
                    px=_s(px) or "",
                    cl_ord_id=cl_ord_id,
                    reduce_only=reduce_only,
                    attach_algo_ords=algos,
                )
            )
        except (OrderRejected, RequestRejected, ParamError) as exc:
            code = getattr(exc, "s_code", None) or getattr(exc, "code", None)
            raise LabRequestError(400, f"OKX (simulated) refused the order: {exc}", "sz", okxSCode=code) from None
        record = self._order_record(order, body.get("runId"))
        message = decision.message + (" (backtest: approval taken as granted)" if decision.needs_approval else "")
        self.orders_placed.append(record)
        return 201, {"order": record, "risk": {**decision.as_dict(), "message": message}}

    def close_position(self, _: Any, body: dict[str, Any]) -> tuple[int, Any]:
        inst_id = self._inst(body)
        position = next((p for p in self.exchange.engine.positions.values() if p.inst_id == inst_id), None)
        if position is None:
            raise LabRequestError(404, f"no open position on {inst_id}", "instId")
        before = set(self.exchange.engine.orders)
        self.exchange.engine.close_position(
            inst_id,
            position.mgn_mode,
            position.pos_side,
            self.exchange.quotes,
            self.exchange.now_ms,
            cl_ord_id=self._new_cl_ord_id(),
        )
        self.exchange.drain_fills()
        new_id = next(i for i in self.exchange.engine.orders if i not in before)
        record = self._order_record(self.exchange.engine.orders[new_id], body.get("runId"))
        self.orders_placed.append(record)
        return 201, {
            "order": record,
            "risk": {"allowed": True, "rule": "ok", "message": "closing order: always allowed"},
        }

    def position_tpsl(self, _: Any, body: dict[str, Any]) -> tuple[int, Any]:
        """CONTRACT interface 2: replace the open position's TP/SL (null/absent = remove that leg) with one
        position-bound algo order (closeFraction 1), as the live API does through OKX."""
        inst_id = self._inst(body)
        if body.get("posSide") not in (None, "net"):
            raise LabRequestError(400, "posSide: the backtest account is in net mode, posSide must be net", "posSide")
        tp, sl = _dec(body, "tpTriggerPx"), _dec(body, "slTriggerPx")
        engine = self.exchange.engine
        position = next((p for p in engine.positions.values() if p.inst_id == inst_id and p.size), None)
        if position is None:
            raise LabRequestError(404, f"no open position on {inst_id}", "instId")
        close_side = "sell" if position.direction > 0 else "buy"
        price = self.exchange.last
        above, below = (tp, sl) if close_side == "sell" else (sl, tp)
        if above is not None and above <= price:
            name = "tpTriggerPx" if close_side == "sell" else "slTriggerPx"
            raise LabRequestError(400, f"{name} must be above the price {price}", name)
        if below is not None and below >= price:
            name = "slTriggerPx" if close_side == "sell" else "tpTriggerPx"
            raise LabRequestError(400, f"{name} must be below the price {price}", name)
        for algo in engine.position_algos(position):
            engine.cancel_algo(inst_id, algo.algo_id, self.exchange.now_ms)
        algo_ids: list[str] = []
        if tp is not None or sl is not None:
            try:
                algo = engine.place_algo(
                    {
                        "instId": inst_id,
                        "tdMode": position.mgn_mode,
                        "side": close_side,
                        "posSide": position.pos_side,
                        "ordType": "oco" if tp and sl else "conditional",
                        "closeFraction": "1",
                        "tpTriggerPx": _s(tp) or "",
                        "tpOrdPx": "-1" if tp else "",
                        "slTriggerPx": _s(sl) or "",
                        "slOrdPx": "-1" if sl else "",
                    },
                    self.exchange.quotes,
                    self.exchange.now_ms,
                )
            except (OrderRejected, ParamError) as exc:
                field = "slTriggerPx" if sl is not None else "tpTriggerPx"
                raise LabRequestError(
                    400, f"OKX (simulated) refused the TP/SL: {exc}", field, okxSCode=getattr(exc, "s_code", None)
                ) from None
            algo_ids.append(algo.algo_id)
        return 200, {
            "instId": inst_id,
            "posSide": position.pos_side,
            "tpTriggerPx": _s(tp),
            "slTriggerPx": _s(sl),
            "algoIds": algo_ids,
        }

    def cancel(self, _: Any, body: dict[str, Any]) -> tuple[int, Any]:
        inst_id = self._inst(body)
        try:
            order = self.exchange.engine.cancel_order(
                inst_id, body.get("ordId") or "", body.get("clOrdId") or "", self.exchange.now_ms
            )
        except OrderRejected as exc:
            raise LabRequestError(
                400, f"OKX (simulated) refused the cancel: {exc}", "ordId", okxSCode=exc.s_code
            ) from None
        return 200, {
            "canceled": True,
            "ordId": order.ord_id,
            "clOrdId": order.cl_ord_id,
            "order": self._order_record(order),
        }


_ROUTES = {
    ("GET", "/api/market/ticker"): LabTradingApi.ticker,
    ("GET", "/api/market/candles"): LabTradingApi.candles,
    ("GET", "/api/market/books"): LabTradingApi.books,
    ("GET", "/api/market/trades"): LabTradingApi.trades,
    ("GET", "/api/market/instruments"): LabTradingApi.instruments,
    ("GET", "/api/market/funding-rate"): LabTradingApi.funding,
    ("GET", "/api/account/balances"): LabTradingApi.balances,
    ("GET", "/api/account/positions"): LabTradingApi.positions,
    ("GET", "/api/account/orders"): LabTradingApi.open_orders,
    ("GET", "/api/trade/risk"): LabTradingApi.risk,
    ("POST", "/api/trade/order"): LabTradingApi.place_order,
    ("POST", "/api/trade/close-position"): LabTradingApi.close_position,
    ("POST", "/api/trade/cancel"): LabTradingApi.cancel,
    ("POST", "/api/trade/position-tpsl"): LabTradingApi.position_tpsl,
}


class LabApiTransport(httpx.AsyncBaseTransport):
    """httpx transport answering the agent's API requests from a `LabTradingApi` (no socket)."""

    def __init__(self, api: LabTradingApi) -> None:
        self.api = api

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        query = dict(
            parse_qsl(request.url.query.decode() if isinstance(request.url.query, bytes) else request.url.query)
        )
        body: dict[str, Any] = {}
        content = request.content if hasattr(request, "_content") else await request.aread()
        if content:
            try:
                body = json.loads(content)
            except json.JSONDecodeError:
                return _json_response(400, {"status_code": 400, "detail": "body is not JSON", "field": "body"})
        try:
            status, answer = self.api.handle(
                request.method, request.url.path, query, body, request.headers.get(ORIGIN_HEADER)
            )
        except LabRequestError as exc:
            error = {
                "status_code": exc.status,
                "detail": exc.detail,
                **({"field": exc.field} if exc.field else {}),
                **{k: v for k, v in exc.extra.items() if v is not None},
            }
            return _json_response(exc.status, error)
        return _json_response(status, answer)


def _json_response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(body, separators=(",", ":")).encode(), headers={"content-type": "application/json"}
    )
