"""Algo orders at OKX (a position's TP/SL lives there as a `conditional` or `oco` algo order, separate from the
order that opened the position): place, cancel, amend, read. Writes follow the rule of `api_server.okx.trading`:
never resent while their outcome is unknown; settled by looking the algo order up by algoClOrdId / algoId.
"""

from __future__ import annotations

from typing import Any

from api_server.okx.errors import OkxError, OkxRequestError, order_rejected
from api_server.okx.models import AlgoOrder, AlgoOrderResult
from api_server.okx.trading import ABSENT, TradingMethods, _check_id, _item_or_raise, _not_found, _same, new_cl_ord_id

ALGO_TPSL_TYPES = ("conditional", "oco")
ALGO_OPEN_STATES = ("live", "pause", "partially_effective")


class AlgoMethods(TradingMethods):
    async def place_algo_order(
        self,
        *,
        inst_id: str,
        td_mode: str,
        side: str,
        ord_type: str,
        pos_side: str | None = None,
        sz: str | None = None,
        close_fraction: str | None = None,
        reduce_only: bool | None = None,
        tp_trigger_px: str | None = None,
        sl_trigger_px: str | None = None,
        tp_ord_px: str = "-1",
        sl_ord_px: str = "-1",
        trigger_px_type: str = "last",
        algo_cl_ord_id: str | None = None,
    ) -> AlgoOrderResult:
        """POST /api/v5/trade/order-algo for a TP/SL (`conditional`: one leg; `oco`: both legs, one cancels the
        other). `close_fraction="1"` closes the whole position when triggered (OKX allows one such TP/SL per
        position; in net mode it needs `reduce_only=True`). Market execution (`-1`) by default."""
        if (sz is None) == (close_fraction is None):
            raise ValueError("give sz or close_fraction")
        algo_cl_ord_id = new_cl_ord_id() if algo_cl_ord_id is None else _check_id(algo_cl_ord_id, "algoClOrdId")
        body: dict[str, Any] = {
            "instId": inst_id,
            "tdMode": td_mode,
            "side": side,
            "ordType": ord_type,
            "algoClOrdId": algo_cl_ord_id,
        }
        if pos_side:
            body["posSide"] = pos_side
        body.update({"sz": sz} if sz is not None else {"closeFraction": close_fraction})
        if reduce_only is not None:
            body["reduceOnly"] = bool(reduce_only)
        if tp_trigger_px is not None:
            body.update(tpTriggerPx=tp_trigger_px, tpOrdPx=tp_ord_px, tpTriggerPxType=trigger_px_type)
        if sl_trigger_px is not None:
            body.update(slTriggerPx=sl_trigger_px, slOrdPx=sl_ord_px, slTriggerPxType=trigger_px_type)
        path = "/api/v5/trade/order-algo"

        async def send() -> AlgoOrderResult:
            items = await self._call("POST", path, AlgoOrderResult, body=body, private=True, write=True)
            return _item_or_raise(items, path, algo_cl_ord_id, "algo order")

        async def lookup() -> Any:
            algo = await self.find_algo_order(inst_id, algo_cl_ord_id)
            if algo is ABSENT:
                return ABSENT
            return AlgoOrderResult(
                algoId=algo.algoId,
                algoClOrdId=algo_cl_ord_id,
                sCode="0",
                sMsg="placed (found by algoClOrdId after a lost reply)",
                recovered=True,
            )

        result = await self._write(path, algo_cl_ord_id, send, lookup)
        result.algoClOrdId = result.algoClOrdId or algo_cl_ord_id
        return result

    async def cancel_algo_orders(self, inst_id: str, algo_ids: list[str]) -> list[AlgoOrderResult]:
        """POST /api/v5/trade/cancel-algos, one instrument's algo orders; each settled on its own when the reply
        is lost (canceled → done; triggered/failed → nothing to cancel; live → sent again after the window)."""
        results = []
        for algo_id in algo_ids:
            results.append(await self._cancel_algo(inst_id, algo_id))
        return results

    async def _cancel_algo(self, inst_id: str, algo_id: str) -> AlgoOrderResult:
        path = "/api/v5/trade/cancel-algos"
        body = [{"instId": inst_id, "algoId": algo_id}]

        async def send() -> AlgoOrderResult:
            items = await self._call("POST", path, AlgoOrderResult, body=body, private=True, write=True)
            return _item_or_raise(items, path, algo_id, "algo cancel")

        async def lookup() -> Any:
            algo = await self.algo_by_id(inst_id, algo_id)
            if algo.state == "canceled":
                return AlgoOrderResult(
                    algoId=algo_id,
                    algoClOrdId=algo.algoClOrdId,
                    sCode="0",
                    sMsg="canceled (found after a lost reply)",
                    recovered=True,
                )
            if algo.state not in ALGO_OPEN_STATES:
                raise order_rejected(
                    code="1",
                    msg="algo cancel rejected",
                    s_code="51000",
                    s_msg=f"the algo order is {algo.state}; nothing to cancel",
                    cl_ord_id=algo_id,
                    http_status=200,
                    path=path,
                )
            return ABSENT

        return await self._write(path, algo_id, send, lookup)

    async def amend_algo_order(
        self,
        inst_id: str,
        algo_id: str,
        *,
        new_tp_trigger_px: str | None = None,
        new_sl_trigger_px: str | None = None,
        req_id: str | None = None,
    ) -> AlgoOrderResult:
        """POST /api/v5/trade/amend-algos: move a live TP/SL's trigger prices ("0" removes a leg, per OKX)."""
        body: dict[str, Any] = {
            "instId": inst_id,
            "algoId": algo_id,
            "reqId": _check_id(req_id or new_cl_ord_id(), "reqId"),
        }
        if new_tp_trigger_px is not None:
            body.update(newTpTriggerPx=new_tp_trigger_px, newTpOrdPx="-1" if new_tp_trigger_px != "0" else "")
        if new_sl_trigger_px is not None:
            body.update(newSlTriggerPx=new_sl_trigger_px, newSlOrdPx="-1" if new_sl_trigger_px != "0" else "")
        body = {k: v for k, v in body.items() if v != ""}
        path = "/api/v5/trade/amend-algos"

        async def send() -> AlgoOrderResult:
            items = await self._call("POST", path, AlgoOrderResult, body=body, private=True, write=True)
            return _item_or_raise(items, path, algo_id, "algo amend")

        async def lookup() -> Any:
            algo = await self.algo_by_id(inst_id, algo_id)
            if (new_tp_trigger_px is None or _same(algo.tpTriggerPx or "0", new_tp_trigger_px)) and (
                new_sl_trigger_px is None or _same(algo.slTriggerPx or "0", new_sl_trigger_px)
            ):
                return AlgoOrderResult(
                    algoId=algo_id,
                    algoClOrdId=algo.algoClOrdId,
                    reqId=body["reqId"],
                    sCode="0",
                    sMsg="amended (found after a lost reply)",
                    recovered=True,
                )
            return ABSENT

        return await self._write(path, algo_id, send, lookup)

    async def get_algo_order(self, *, algo_id: str | None = None, algo_cl_ord_id: str | None = None) -> AlgoOrder:
        if not algo_id and not algo_cl_ord_id:
            raise ValueError("get_algo_order needs algoId or algoClOrdId")
        params = {"algoId": algo_id, "algoClOrdId": algo_cl_ord_id}
        items = await self._call("GET", "/api/v5/trade/order-algo", AlgoOrder, params=params, private=True)
        return self._one(items, "/api/v5/trade/order-algo")

    async def get_algo_orders_pending(
        self, ord_types: tuple[str, ...] = ALGO_TPSL_TYPES, inst_type: str | None = "SWAP", inst_id: str | None = None
    ) -> list[AlgoOrder]:
        """Live algo orders of the given types (OKX takes one `ordType` per request: one request per type)."""
        found: list[AlgoOrder] = []
        for ord_type in ord_types:
            params = {"ordType": ord_type, "instType": inst_type, "instId": inst_id}
            found.extend(
                await self._call("GET", "/api/v5/trade/orders-algo-pending", AlgoOrder, params=params, private=True)
            )
        unique = {a.algoId: a for a in found}
        return list(unique.values())

    async def find_algo_order(self, inst_id: str, algo_cl_ord_id: str) -> AlgoOrder | object:
        """The algo order with this algoClOrdId, or ABSENT when neither OKX's details nor its lists have it."""
        return await self._find_algo(inst_id, lambda a: a.algoClOrdId == algo_cl_ord_id, algo_cl_ord_id=algo_cl_ord_id)

    async def algo_by_id(self, inst_id: str, algo_id: str) -> AlgoOrder:
        found = await self._find_algo(inst_id, lambda a: a.algoId == algo_id, algo_id=algo_id)
        if found is ABSENT:
            raise OkxError(f"algo order {algo_id} not found at OKX", path="/api/v5/trade/order-algo")
        return found

    async def _find_algo(self, inst_id: str, match: Any, **ids: str) -> AlgoOrder | object:
        # GET /trade/order-algo first; an endpoint a gateway (or a simulator) lacks, or 51603, falls back to the
        # lists: live ones, then the history (triggered = effective, canceled) of each TP/SL type.
        try:
            return await self.get_algo_order(**ids)
        except OkxRequestError as exc:
            if not (_not_found(exc) or exc.http_status in (404, 405)):
                raise
        for algo in await self.get_algo_orders_pending(inst_type=None, inst_id=inst_id):
            if match(algo):
                return algo
        for ord_type in ALGO_TPSL_TYPES:
            for state in ("effective", "canceled"):
                params = {"ordType": ord_type, "state": state, "instType": "SWAP", "instId": inst_id}
                for algo in await self._call(
                    "GET", "/api/v5/trade/orders-algo-history", AlgoOrder, params=params, private=True
                ):
                    if match(algo):
                        return algo
        return ABSENT
