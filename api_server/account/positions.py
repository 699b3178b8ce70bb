"""Open positions: live from OKX, joined with their records (id, opening time, TP/SL when OKX shows none)."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from api_server.account import queries as q
from api_server.account.schemas import Position, num
from api_server.account.sync import dec
from api_server.okx.errors import OkxError
from api_server.okx.rest import OkxRestClient
from api_server.okx.tpsl import read_position_stops


class PositionReader:
    def __init__(self, *, pool: AsyncConnectionPool, okx: OkxRestClient) -> None:
        self.pool = pool
        self.okx = okx

    async def open_positions(self, inst_id: str | None) -> list[Position]:
        live = await self.okx.get_positions(inst_type="SWAP", inst_id=inst_id)
        algos = None
        if any(dec(p.pos) and not p.closeOrderAlgo for p in live):
            try:  # a TP/SL attached to the opening order lives at OKX as a separate algo order
                algos = await self.okx.get_algo_orders_pending(inst_id=inst_id)
            except OkxError:
                algos = None
        records = {(r["inst_id"], r["mgn_mode"], r["pos_side"]): r for r in await q.open_positions(self.pool, inst_id)}
        out = []
        for p in live:
            if not dec(p.pos):
                continue
            record = records.get((p.instId, p.mgnMode, p.posSide or "net"))
            algo = next(iter(getattr(p, "closeOrderAlgo", None) or []), None) or {}
            if not algo and algos:
                size = dec(p.pos)
                stops = await read_position_stops(
                    self.okx,
                    p.instId,
                    p.posSide or "net",
                    p.posSide == "long" or (p.posSide in ("", "net") and size > 0),
                    algos,
                )
                algo = {"tpTriggerPx": num(stops.tp_trigger_px), "slTriggerPx": num(stops.sl_trigger_px)}
            out.append(
                Position(
                    instId=p.instId,
                    mgnMode=p.mgnMode,
                    posSide=p.posSide or "net",
                    posId=p.posId,
                    pos=p.pos,
                    avgPx=p.avgPx,
                    markPx=p.markPx,
                    upl=p.upl,
                    uplRatio=p.uplRatio,
                    lever=p.lever,
                    liqPx=p.liqPx,
                    notionalUsd=p.notionalUsd,
                    realizedPnl=p.realizedPnl,
                    tpTriggerPx=(algo.get("tpTriggerPx") if isinstance(algo, dict) else None)
                    or (num(record["tp_trigger_px"]) if record else None),
                    slTriggerPx=(algo.get("slTriggerPx") if isinstance(algo, dict) else None)
                    or (num(record["sl_trigger_px"]) if record else None),
                    recordId=record["id"] if record else None,
                    openedAt=record["opened_at"].isoformat() if record else None,
                )
            )
        return out
