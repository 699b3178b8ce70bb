"""OKX's WebSocket URLs as the simulator serves them: hub.py (connections, login, ping, idle close),
public.py (tickers, candles), private.py + account_events.py (orders, positions, balance_and_position, orders-algo)."""

from okxsim.ws.hub import Hub

__all__ = ["Hub"]
