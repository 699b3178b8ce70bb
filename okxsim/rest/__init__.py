"""OKX v5 REST: `dispatch` is the one aiohttp handler for /api/v5/*; handlers live per area (public, account,
trade, algo), request bodies in `bodies`, the shared context and envelopes in `common`."""

from okxsim.rest.dispatch import ROUTES, dispatch

__all__ = ["ROUTES", "dispatch"]
