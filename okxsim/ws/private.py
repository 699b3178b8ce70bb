"""Account channels: `orders`, `positions`, `balance_and_position` on /ws/v5/private and `orders-algo` on
/ws/v5/business, all after `login` (docs `trading-trade-ws-order-channel.md`, `websocket-positions-channel.md`,
`websocket-balance-and-position-channel.md`, `trading-algo-trading-ws-algo-orders-channel.md`).

Subscribing answers one ack per arg (the arg as sent, `extraParams` left out) and, for the account channels
OKX counts, a `channel-conn-count` event. `positions` and `balance_and_position` then push a snapshot;
`orders` and `orders-algo` push nothing until something changes. Pushes carry `arg` with the account `uid`.
One observer loop (account_events.AccountObserver) runs while anyone is subscribed and fans its events out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from okxsim.ws.account_events import AccountEvents, AccountObserver, bal_pos_item
from okxsim.ws.connection import ERROR_60018, PLEASE_LOG_IN, SIM_UID, Connection

if TYPE_CHECKING:
    from okxsim.sim_api import SimulatorApi as Simulator

log = logging.getLogger("okxsim.ws.private")

# channel -> (URL kind it lives on, instType values it accepts; None: takes no instType)
ACCOUNT_CHANNELS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "orders": ("private", ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "EVENTS", "ANY")),
    "positions": ("private", ("MARGIN", "SWAP", "FUTURES", "OPTION", "EVENTS", "ANY")),
    "balance_and_position": ("private", None),
    "orders-algo": ("business", ("SPOT", "MARGIN", "SWAP", "FUTURES", "ANY")),
}
COUNTED_CHANNELS = ("orders", "positions", "balance_and_position")  # docs `connection-count-limit.md`
POLL_INTERVAL_S = 0.05
DEFAULT_SNAPSHOT_INTERVAL_S = (
    5.0  # positions: "pushed … around per 5 seconds regularly" unless updateInterval says otherwise
)
SNAPSHOT_INTERVALS = {"0": None, "2000": 2.0, "3000": 3.0, "4000": 4.0}

SubKey = tuple[str, str, str, str]


def is_account_channel(channel: str) -> bool:
    return channel in ACCOUNT_CHANNELS


def inst_matcher(inst_type: str, inst_family: str, inst_id: str) -> Callable[[str], bool]:
    """Which of the simulator's (all SWAP) instruments an arg selects."""

    def match(candidate: str) -> bool:
        if inst_type not in ("", "SWAP", "ANY"):
            return False
        if inst_id:
            return candidate == inst_id
        if inst_family:
            return candidate.removesuffix("-SWAP") == inst_family
        return True

    return match


def snapshot_interval(extra: object) -> float | None:
    """`extraParams` is a JSON string such as '{"updateInterval": "0"}'; anything else keeps the 5 s default."""
    if not isinstance(extra, str) or not extra.strip():
        return DEFAULT_SNAPSHOT_INTERVAL_S
    try:
        parsed = msgspec.json.decode(extra)
    except msgspec.DecodeError:
        return DEFAULT_SNAPSHOT_INTERVAL_S
    value = str(parsed.get("updateInterval", "")) if isinstance(parsed, dict) else ""
    return SNAPSHOT_INTERVALS.get(value, DEFAULT_SNAPSHOT_INTERVAL_S)


class AccountChannels:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.observer = AccountObserver(sim)
        self.subscribers: set[Connection] = set()
        self._task: asyncio.Task | None = None

    # ---- protocol ----------------------------------------------------------------------
    async def on_arg(self, conn: Connection, op: str, arg: dict, req_id: str | None, raw: str) -> None:
        channel = str(arg.get("channel"))
        kind, inst_types = ACCOUNT_CHANNELS[channel]
        inst_type, inst_family, inst_id = (str(arg.get(k, "") or "") for k in ("instType", "instFamily", "instId"))
        if conn.kind != kind:
            await conn.error("60018", ERROR_60018.format(channel=channel, inst_id=inst_id), req_id)
            return
        if not conn.logged_in:
            await conn.error(*PLEASE_LOG_IN, req_id)
            return
        if inst_types is not None and inst_type not in inst_types:
            if not inst_type:
                await conn.error("60012", f"Invalid request: {raw}", req_id)
            else:
                await conn.error("60018", ERROR_60018.format(channel=channel, inst_id=inst_id), req_id)
            return
        if inst_id and inst_id not in self.sim.market.tracks:
            await conn.error("60018", ERROR_60018.format(channel=channel, inst_id=inst_id), req_id)
            return
        key: SubKey = (channel, inst_type, inst_family, inst_id)
        echoed = {"channel": channel, **{k: str(arg[k]) for k in ("instType", "instFamily", "instId") if arg.get(k)}}
        ack = {"event": op, "arg": echoed, "connId": conn.conn_id}
        if op == "unsubscribe":
            conn.private_subs.pop(key, None)
            conn.snapshot_due.pop(key, None)
            if not conn.private_subs:
                self.subscribers.discard(conn)
            conn.subscription_changed()
            await conn.event(ack, req_id)
            return
        new_channel = all(k[0] != channel for k in conn.private_subs)
        conn.private_subs[key] = echoed
        self.subscribers.add(conn)
        conn.subscription_changed()
        await conn.event(ack, req_id)
        if new_channel and channel in COUNTED_CHANNELS:
            count = sum(1 for c in self.subscribers if any(k[0] == channel for k in c.private_subs))
            await conn.send_json(
                {"event": "channel-conn-count", "channel": channel, "connCount": str(count), "connId": conn.conn_id}
            )
        self._ensure_running()
        if channel == "positions":
            interval = snapshot_interval(arg.get("extraParams"))
            if interval is not None:
                conn.snapshot_due[key] = (time.monotonic() + interval, interval)
            await self._positions_snapshot(conn, key)
        elif channel == "balance_and_position":
            await self._balance_snapshot(conn, key)

    def forget(self, conn: Connection) -> None:
        conn.private_subs.clear()
        conn.snapshot_due.clear()
        self.subscribers.discard(conn)

    # ---- snapshots ----------------------------------------------------------------------
    @staticmethod
    def _push_arg(key: SubKey) -> dict:
        channel, inst_type, inst_family, inst_id = key
        arg = {"channel": channel, "uid": SIM_UID}
        arg.update({k: v for k, v in (("instType", inst_type), ("instFamily", inst_family), ("instId", inst_id)) if v})
        return arg

    async def _positions_snapshot(self, conn: Connection, key: SubKey) -> None:
        data = self.observer.positions_snapshot(inst_matcher(*key[1:]))
        await conn.send_json(
            {"arg": self._push_arg(key), "eventType": "snapshot", "curPage": 1, "lastPage": True, "data": data}
        )

    async def _balance_snapshot(self, conn: Connection, key: SubKey) -> None:
        balance = self.observer.cash_balance()
        positions = [bal_pos_item(v) for v in self.observer.positions_snapshot()]
        item = {
            "pTime": str(self.sim.now_ms()),
            "eventType": "snapshot",
            "balData": [balance] if balance["cashBal"] not in ("", "0") else [],
            "posData": positions,
            "trades": [],
        }
        await conn.send_json({"arg": self._push_arg(key), "data": [item]})

    # ---- the observer loop --------------------------------------------------------------
    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self.observer.poll()  # the baseline: what exists now is not pushed
            self._task = asyncio.create_task(self._run(), name="okxsim-account-channels")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while self.subscribers:
            await asyncio.sleep(POLL_INTERVAL_S)
            try:
                events = self.observer.poll()
                if events:
                    await self._fan_out(events)
                await self._regular_snapshots()
            except Exception:  # one bad look must not end the pushes
                log.exception("account channel push failed")
        self._task = None

    async def _fan_out(self, events: AccountEvents) -> None:
        by_channel = {"orders": events.orders, "positions": events.positions, "orders-algo": events.algos}
        for conn in list(self.subscribers):
            for key in list(conn.private_subs):
                channel = key[0]
                if channel == "balance_and_position":
                    for item in events.balance_and_position:
                        await conn.send_json({"arg": self._push_arg(key), "data": [item]})
                    continue
                match = inst_matcher(*key[1:])
                items = [item for item in by_channel[channel] if match(item["instId"])]
                if not items:
                    continue
                message: dict = {"arg": self._push_arg(key)}
                if channel == "positions":
                    message.update({"eventType": "event_update"})
                message["data"] = items
                await conn.send_json(message)

    async def _regular_snapshots(self) -> None:
        now = time.monotonic()
        for conn in list(self.subscribers):
            for key, (due, interval) in list(conn.snapshot_due.items()):
                if now >= due:
                    conn.snapshot_due[key] = (now + interval, interval)
                    await self._positions_snapshot(conn, key)
