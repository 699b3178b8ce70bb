"""Market-data channels: `tickers` on /ws/v5/public, `candle<bar>` on /ws/v5/business (OKX_FACTS §4.3-4.5)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from okxsim.wire import encode
from okxsim.ws.connection import ERROR_60018, ERROR_64001, Connection
from shared.instruments import CANDLE_BARS

if TYPE_CHECKING:
    from okxsim.sim_api import SimulatorApi as Simulator

CANDLE_CHANNELS = {"candle" + bar: bar for bar in CANDLE_BARS}
CANDLE_PUSH_INTERVAL_S = 1.0


def is_market_channel(channel: str) -> bool:
    return channel == "tickers" or channel in CANDLE_CHANNELS


class MarketChannels:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.ticker_subs: dict[str, set[Connection]] = {}
        self.candle_subs: dict[tuple[str, str], set[Connection]] = {}
        self._last_push: dict[str, float] = {}
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._last_candle: dict[tuple[str, str], list[str]] = {}
        self._deferred: set[asyncio.Task] = set()  # keeps throttled pushes alive until they ran

    # ---- pushes ------------------------------------------------------------------------
    def _ticker_text(self, inst_id: str) -> str:
        track = self.sim.market.tracks[inst_id]
        return encode(
            {"arg": {"channel": "tickers", "instId": inst_id}, "data": [track.ticker(self.sim.now_ms())]}
        ).decode()

    async def push_ticker(self, inst_id: str, *, force: bool = False) -> None:
        """Push the newest ticker to subscribers, at most once per `ticker_min_interval_secs` unless forced."""
        subs = self.ticker_subs.get(inst_id)
        if not subs:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        wait = self._last_push.get(inst_id, -1e9) + self.sim.config.ticker_min_interval_secs - now
        if wait > 0 and not force:
            if inst_id not in self._pending:
                self._pending[inst_id] = loop.call_later(wait, self._deferred_push, inst_id)
            return
        handle = self._pending.pop(inst_id, None)
        if handle is not None:
            handle.cancel()
        self._last_push[inst_id] = now
        text = self._ticker_text(inst_id)
        for conn in list(subs):
            await conn.send(text)

    def _deferred_push(self, inst_id: str) -> None:
        self._pending.pop(inst_id, None)
        task = asyncio.ensure_future(self.push_ticker(inst_id))
        self._deferred.add(task)
        task.add_done_callback(self._deferred.discard)

    def _current_candle(self, channel: str, inst_id: str) -> list:
        return self.sim.market.tracks[inst_id].candles(
            CANDLE_CHANNELS[channel], self.sim.now_ms(), after=None, before=None, limit=1, history=False
        )

    async def candle_loop(self) -> None:
        """Business-channel candle pushes: the current bar of each subscribed channel, once a second when it changed."""
        while True:
            await asyncio.sleep(CANDLE_PUSH_INTERVAL_S)
            for (channel, inst_id), subs in list(self.candle_subs.items()):
                if not subs:
                    continue
                rows = self._current_candle(channel, inst_id)
                if not rows or self._last_candle.get((channel, inst_id)) == rows[0]:
                    continue
                self._last_candle[(channel, inst_id)] = rows[0]
                text = encode({"arg": {"channel": channel, "instId": inst_id}, "data": rows}).decode()
                for conn in list(subs):
                    await conn.send(text)

    # ---- protocol ----------------------------------------------------------------------
    async def on_arg(self, conn: Connection, op: str, arg: dict, req_id: str | None, raw: str) -> None:
        """One subscribe/unsubscribe arg of a market-data channel."""
        channel = arg.get("channel")
        inst_id = arg.get("instId")
        if not isinstance(inst_id, str):
            await conn.error("60012", f"Invalid request: {raw}", req_id)
            return
        if conn.kind == "public" and channel in CANDLE_CHANNELS:
            await conn.error("64001", ERROR_64001, req_id)
            return
        valid_channel = (channel == "tickers" and conn.kind == "public") or (
            channel in CANDLE_CHANNELS and conn.kind == "business"
        )
        if not valid_channel or inst_id not in self.sim.market.tracks:
            await conn.error("60018", ERROR_60018.format(channel=channel, inst_id=inst_id), req_id)
            return
        key = (channel, inst_id)
        subs = (
            self.ticker_subs.setdefault(inst_id, set())
            if channel == "tickers"
            else self.candle_subs.setdefault(key, set())
        )
        ack = {"event": op, "arg": {"channel": channel, "instId": inst_id}, "connId": conn.conn_id}
        if op == "subscribe":
            conn.subs.add(key)
            subs.add(conn)
            conn.subscription_changed()
            await conn.event(ack, req_id)
            await self._snapshot(conn, channel, inst_id)
        else:
            conn.subs.discard(key)
            subs.discard(conn)
            conn.subscription_changed()
            await conn.event(ack, req_id)

    async def _snapshot(self, conn: Connection, channel: str, inst_id: str) -> None:
        """OKX sends the current state right after a subscription."""
        if channel == "tickers":
            await conn.send(self._ticker_text(inst_id))
            return
        await conn.send_json(
            {"arg": {"channel": channel, "instId": inst_id}, "data": self._current_candle(channel, inst_id)}
        )

    def forget(self, conn: Connection) -> None:
        for key in conn.subs:
            channel, inst_id = key
            if channel == "tickers":
                self.ticker_subs.get(inst_id, set()).discard(conn)
            else:
                self.candle_subs.get(key, set()).discard(conn)
        conn.subs.clear()
