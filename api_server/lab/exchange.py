"""The backtest's exchange: the OKX simulator's matching engine (`okxsim.engine.Engine`), driven by the path.

What it models, on top of the simulator engine's own rules (positions, margin, limits, attached TP/SL):

* Market orders fill at the path price ± slippage (bid = p·(1 − s), ask = p·(1 + s)); so do TP/SL orders,
  which OKX executes at market when triggered.
* Between two path points the price moves in a straight line: every resting limit and TP/SL trigger lying on
  that segment is reached at its own price, in the order the path meets them (a gap, a path point already
  beyond the level, fills at the point's price: the engine's own rule).
* Fees: taker / maker rates of the backtest (default OKX regular tier swap 0.05 % / 0.02 %), applied by
  correcting the engine's fixed-rate fee on each fill.
* Funding every 8 h (00:00, 08:00, 16:00 UTC): payment = −direction · |pos| · ctVal · price · rate, from a
  funding-rate series when given (the newest rate at or before the settlement) else the constant.
* Liquidation: when equity ≤ maintenance margin (0.4 % of notional, the simulator's MMR) at a path point,
  every position is closed at market. No liquidation penalty or ADL is modelled.

Not modelled (said in the README and the UI): order-book depth and market impact beyond the fixed slippage,
partial fills, latency between the decision and the fill, funding-rate prediction, exchange outages.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from okxsim.engine import MAKER_RATE, TAKER_RATE, Engine, OrderRequest
from okxsim.instruments import InstrumentSpec
from okxsim.prices import Quote

FUNDING_PERIOD_MS = 8 * 3_600_000
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class LabFill:
    ts: int
    side: str
    pos_side: str
    px: Decimal
    sz: Decimal
    fee: Decimal  # negative = paid
    realized_pnl: Decimal
    exec_type: str
    kind: str  # order | tp_sl | liquidation
    cl_ord_id: str

    def as_json(self) -> dict:
        return {
            "ts": self.ts,
            "side": self.side,
            "posSide": self.pos_side,
            "px": float(self.px),
            "sz": float(self.sz),
            "fee": float(self.fee),
            "realizedPnl": float(self.realized_pnl),
            "execType": self.exec_type,
            "kind": self.kind,
        }


class LabExchange:
    def __init__(
        self,
        spec: InstrumentSpec,
        initial_equity: Decimal,
        *,
        taker_rate: Decimal = TAKER_RATE,
        maker_rate: Decimal = MAKER_RATE,
        slippage_bps: Decimal = ZERO,
        funding_rate: Decimal = ZERO,
        funding_series: Sequence[tuple[int, Decimal]] = (),
    ) -> None:
        self.spec = spec
        self.inst_id = spec.inst_id
        self.engine = Engine({spec.inst_id: spec}, initial_usdt=initial_equity, pos_mode="net_mode", id_base=1)
        self.taker_rate, self.maker_rate = taker_rate, maker_rate
        self.slip = slippage_bps / Decimal(10_000)
        self.funding_rate = funding_rate
        self._funding_ts = [ts for ts, _ in funding_series]
        self._funding_rates = [rate for _, rate in funding_series]
        self.fills: list[LabFill] = []
        self.fees_paid = ZERO  # negative sum of fees
        self.funding_paid = ZERO  # signed: negative = paid
        self.liquidations = 0
        self.quotes: dict[str, Quote] = {}
        self.now_ms = 0
        self._next_funding: int | None = None
        self.exposure_ms = 0  # time with an open position
        self._last_ts: int | None = None

    # ---- prices --------------------------------------------------------------------------
    def _quote(self, price: Decimal) -> Quote:
        return Quote(last=price, bid=price * (1 - self.slip), ask=price * (1 + self.slip))

    @property
    def last(self) -> Decimal:
        return self.quotes[self.inst_id].last

    def move_to(self, ts: int, price: Decimal) -> None:
        """The path reaches (ts, price): settle funding due, reach levels on the segment, then check margin."""
        if self._last_ts is not None and self.engine.positions:
            self.exposure_ms += ts - self._last_ts
        self._last_ts = ts
        previous = self.quotes.get(self.inst_id)
        if self._next_funding is None:
            self._next_funding = (ts // FUNDING_PERIOD_MS + 1) * FUNDING_PERIOD_MS
        while ts >= self._next_funding:
            self._settle_funding(self._next_funding)
            self._next_funding += FUNDING_PERIOD_MS
        self.now_ms = ts
        if previous is not None:
            for level in self._levels_between(previous.last, price):
                self.quotes[self.inst_id] = self._quote(level)
                self._match()
        self.quotes[self.inst_id] = self._quote(price)
        self._match()
        self._check_liquidation()

    def _levels_between(self, start: Decimal, end: Decimal) -> list[Decimal]:
        """Resting limit prices and TP/SL triggers strictly inside the segment, in the order the path meets them."""
        lo, hi = min(start, end), max(start, end)
        levels = {o.px for o in self.engine.live.values() if o.px is not None and lo < o.px < hi}
        for a in self.engine.algos.values():  # live TP/SL (attached or set on the position) and trigger orders
            if a.state == "live":
                levels.update(
                    x for x in (a.tp_trigger_px, a.sl_trigger_px, a.trigger_px) if x is not None and lo < x < hi
                )
        return sorted(levels, reverse=end < start)

    def _match(self) -> None:
        self.engine.on_quote(self.inst_id, self.quotes, self.now_ms)
        self.drain_fills()

    def _check_liquidation(self) -> None:
        if not self.engine.positions:
            return
        totals = self.engine.totals(self.quotes)
        if totals["eq"] > totals["mmr"]:
            return
        for inst_id, mgn_mode, pos_side in list(self.engine.positions):
            self.engine.close_position(inst_id, mgn_mode, pos_side, self.quotes, self.now_ms, tag="liquidation")
        self.liquidations += 1
        self.drain_fills()

    def funding_rate_at(self, ts: int) -> Decimal:
        if self._funding_ts:
            i = bisect.bisect_right(self._funding_ts, ts) - 1
            if i >= 0:
                return self._funding_rates[i]
        return self.funding_rate

    def next_funding_time(self) -> int:
        return self._next_funding or (self.now_ms // FUNDING_PERIOD_MS + 1) * FUNDING_PERIOD_MS

    def _settle_funding(self, at: int) -> None:
        rate = self.funding_rate_at(at)
        if rate == 0 or self.inst_id not in self.quotes:
            return
        mark = self.quotes[self.inst_id].last
        for p in self.engine.positions.values():
            payment = -Decimal(p.direction) * p.size * self.spec.ct_val * mark * rate
            self.engine.cash += payment
            self.funding_paid += payment

    # ---- fills ---------------------------------------------------------------------------
    def drain_fills(self) -> list[LabFill]:
        """Move the engine's new fills into our record, charging our fee rates instead of the engine's."""
        new: list[LabFill] = []
        for f in self.engine.fills:
            notional = f.px * f.sz * self.spec.ct_val
            engine_rate = TAKER_RATE if f.exec_type == "T" else MAKER_RATE
            rate = self.taker_rate if f.exec_type == "T" else self.maker_rate
            if rate != engine_rate:
                correction = -(notional * (rate - engine_rate))
                self.engine.cash += correction
                fee = f.fee + correction
            else:
                fee = f.fee
            kind = "liquidation" if f.order.tag == "liquidation" else "tp_sl" if f.order.source == "7" else "order"
            fill = LabFill(f.ts, f.order.side, f.pos_side, f.px, f.sz, fee, f.pnl, f.exec_type, kind, f.order.cl_ord_id)
            self.fees_paid += fee
            new.append(fill)
        self.engine.fills.clear()
        self.fills.extend(new)
        return new

    # ---- orders (called by the facade) ---------------------------------------------------
    def place(self, req: OrderRequest):
        order = self.engine.place_order(req, self.quotes, self.now_ms)
        self.drain_fills()
        return order

    def equity(self) -> Decimal:
        if self.inst_id not in self.quotes:
            return self.engine.cash
        return self.engine.totals(self.quotes)["eq"]

    def position_contracts(self) -> Decimal:
        p = self.engine.positions.get((self.inst_id, "cross", "net")) or self.engine.positions.get(
            (self.inst_id, "isolated", "net")
        )
        return p.pos if p else ZERO
