"""Candles from OKX `GET /api/v5/market/history-candles`, paged backwards (100 rows a page) through the API's own
OKX client (its client-side rate limiter keeps to OKX's 20 requests / 2 s), stored as a lab dataset: the dataset
table is the cache (the same rows are one dataset, found by content hash)."""

from __future__ import annotations

from typing import Any

from api_server.lab.candles import CandleRow, normalise
from shared.instruments import bar_ms

PAGE = 100
MAX_ROWS = 30_000


async def fetch_history(okx: Any, inst_id: str, bar: str, days: float) -> list[CandleRow]:
    """Confirmed candles of the last `days` days, oldest first."""
    wanted = min(int(days * 86_400_000 / bar_ms(bar)), MAX_ROWS)
    rows: list[list[str]] = []
    after: int | None = None
    while len(rows) < wanted:
        page = await okx.get_candles(inst_id, bar, limit=PAGE, after=after, history=True)
        if not page:
            break
        rows.extend([c.ts, c.o, c.h, c.l, c.c, c.vol or "0", "", "", c.confirm or "1"] for c in page)
        oldest = min(int(c.ts) for c in page)
        if after is not None and oldest >= after:
            break  # no progress: the exchange has nothing older
        after = oldest
    return normalise(rows[:wanted], skip_unconfirmed=True)
