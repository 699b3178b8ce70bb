"""What the HTTP layers (rest, control, ws) may use of the running simulator: a small interface.

`app.Simulator` implements it; rest.py, control.py and ws.py depend on this module only, so the wiring
module imports them and none of them imports it back (no app <-> handlers circle).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sized

    from okxsim.config import SimConfig
    from okxsim.control_state import Faults, RateLimiter, RequestLog
    from okxsim.engine import Engine
    from okxsim.prices import Market, Quote


class WsHub(Protocol):
    """The WebSocket side as the control API sees it."""

    connections: Sized

    def drop_all(self, refuse_secs: float) -> int: ...

    async def broadcast_notice(self) -> int: ...


class SimulatorApi(Protocol):
    config: SimConfig
    market: Market
    engine: Engine
    faults: Faults
    requests: RequestLog
    limiter: RateLimiter
    hub: WsHub
    clock_offset_ms: int

    def now_ms(self) -> int:
        """The simulator's clock in ms (the wall clock plus any skew set through /_sim/clock)."""
        ...

    def quotes(self) -> dict[str, Quote]: ...

    async def price_changed(self, inst_ids: list[str], now_ms: int, *, force_push: bool = False) -> None: ...
