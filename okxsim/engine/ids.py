"""Order, trade, bill, position and algo ids: increasing, and never repeated across restarts.

Each sequence starts from the wall clock at start-up (ms x 1e6 plus a per-kind offset), so a restarted
simulator's ids are all larger than any the previous run handed out (one run would have to create a
million ids per millisecond of its own uptime to catch up), and a client that kept its database loses
no fill to an id it has already seen. Counters never go back, not even on /_sim/reset.
"""

from __future__ import annotations

# Offsets keep the kinds apart, so an ordId never equals a tradeId or a billId of the same run.
_OFFSETS = {
    "ord": 0,
    "trade": 300_000_000_000,
    "bill": 500_000_000_000,
    "algo": 700_000_000_000,
    "pos": 900_000_000_000,
}


class IdSequences:
    def __init__(self, id_base: int, *, trade_start: int | None = None) -> None:
        self._next = {kind: id_base + offset for kind, offset in _OFFSETS.items()}
        if trade_start is not None:
            self._next["trade"] = trade_start

    def next(self, kind: str) -> str:
        self._next[kind] += 1
        return str(self._next[kind])
