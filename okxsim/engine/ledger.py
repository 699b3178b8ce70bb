"""The ledger: how a fill moves a position, cash, fees and realised PnL (and hands attached TP/SL to the position)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from okxsim.engine.model import MAKER_RATE, TAKER_RATE, ZERO, Fill, Order, Position

if TYPE_CHECKING:
    from okxsim.engine.core import Engine

MAX_FILLS_KEPT = 10_000


class LedgerMixin:
    """Position bookkeeping for `Engine` (split out so a fill's money rules live in one place)."""

    def _split(
        self: Engine, inst_id: str, td_mode: str, side: str, pos_side: str, sz: Decimal
    ) -> tuple[Decimal, Decimal]:
        """(closing, opening) parts of an order against the current position."""
        if pos_side == "net":
            p = self.positions.get((inst_id, td_mode, "net"))
            cur = p.pos if p else ZERO
            buying = side == "buy"
            if cur == 0 or (cur > 0) == buying:
                return ZERO, sz
            closing = min(sz, abs(cur))
            return closing, sz - closing
        opening = (side == "buy") == (pos_side == "long")
        return (ZERO, sz) if opening else (sz, ZERO)

    def _pending_close(self: Engine, inst_id: str, td_mode: str, pos_side: str) -> Decimal:
        """Size already committed to live closing orders of a long/short position."""
        total = ZERO
        for o in self.live.values():
            if (
                o.inst_id == inst_id
                and o.td_mode == td_mode
                and o.pos_side == pos_side
                and self._split(inst_id, td_mode, o.side, pos_side, o.sz)[0] > 0
            ):
                total += o.sz - o.acc_fill_sz
        return total

    def _fill(self: Engine, order: Order, px: Decimal, sz: Decimal, exec_type: str, now_ms: int) -> Fill | None:
        spec = self.specs[order.inst_id]
        ct = spec.ct_val
        closing, opening = self._split(order.inst_id, order.td_mode, order.side, order.pos_side, sz)
        key = (order.inst_id, order.td_mode, order.pos_side)
        pos = self.positions.get(key)
        if order.reduce_only or (order.pos_side != "net" and opening == 0):
            # A reduce-only (or long/short closing) order never opens: trim to what is held, cancel if nothing is.
            held = pos.size if pos else ZERO
            closing = min(closing if order.pos_side == "net" else sz, held)
            opening = ZERO
            sz = closing
            if sz <= 0:
                order.state = "canceled"
                order.cancel_source = "31"  # OKX: reduce-only order canceled, position gone
                order.u_time = now_ms
                self.live.pop(order.ord_id, None)
                order.frozen = ZERO
                return None
        rate = TAKER_RATE if exec_type == "T" else MAKER_RATE
        fee = -(px * sz * ct * rate)
        trade_id = self.ids.next("trade")
        pnl = ZERO
        sub_type = ""
        if closing > 0 and pos is not None:
            pnl = (px - pos.avg_px) * closing * ct * pos.direction
            sub_type = "5" if pos.direction > 0 else "6"
            if order.pos_side == "net":
                pos.pos += closing if order.side == "buy" else -closing
            else:
                pos.pos -= closing
            pos.pnl += pnl
            pos.realized_pnl += pnl
            pos.u_time = now_ms
            pos.trade_id = trade_id
            if pos.pos == 0:
                # Any fee on this fill belongs to the closed position's realised PnL; it is gone now.
                self.closed_positions.append(pos)
                del self.positions[key]
                self._cancel_position_algos(pos, now_ms)
                pos = None
        if opening > 0:
            sub_type = sub_type or ("3" if (order.side == "buy") else "4")
            signed = opening if (order.pos_side != "net" or order.side == "buy") else -opening
            if pos is None:
                pos = Position(
                    self.ids.next("pos"),
                    order.inst_id,
                    order.td_mode,
                    order.pos_side,
                    signed,
                    px,
                    order.lever,
                    now_ms,
                    now_ms,
                )
                self.positions[key] = pos
            else:
                total = pos.size + opening
                pos.avg_px = (pos.avg_px * pos.size + px * opening) / total
                pos.pos += signed
            pos.u_time = now_ms
            pos.trade_id = trade_id
            pos.lever = order.lever
        if pos is not None:
            pos.fee += fee
            pos.realized_pnl += fee
        self.cash += pnl + fee
        prev = order.acc_fill_sz
        order.acc_fill_sz = prev + sz
        order.avg_px = px if order.avg_px is None else (order.avg_px * prev + px * sz) / order.acc_fill_sz
        order.fill_px = px
        order.fill_sz = sz
        order.fill_time = now_ms
        order.trade_id = trade_id
        order.fee += fee
        order.pnl += pnl
        order.u_time = now_ms
        order.state = "filled" if order.acc_fill_sz >= order.sz else "partially_filled"
        if order.state == "filled":
            self.live.pop(order.ord_id, None)
            order.frozen = ZERO
        if opening > 0 and order.attach_algos:
            self._attach_on_fill(order, opening, now_ms)
        fill = Fill(
            trade_id,
            self.ids.next("bill"),
            order,
            px,
            sz,
            fee,
            pnl,
            exec_type,
            sub_type or ("1" if order.side == "buy" else "2"),
            order.pos_side,
            now_ms,
            self.cash,
        )
        self.fills.append(fill)
        if len(self.fills) > MAX_FILLS_KEPT:
            del self.fills[:1000]
        return fill
