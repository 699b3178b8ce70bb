"""Instrument specs (ctVal, lotSz, minSz, tickSz) from OKX, cached: they change rarely but must come from OKX.

`specs()` gives the API's `Instrument` view; `rules()` the exchange rules an order is checked against before
it is sent (`shared.instrument_rules`: tick, lot, min/max size, max leverage, state, contract type).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from api_server.market.schemas import Instrument, as_builtin
from shared.instrument_rules import InstrumentRules, RuleViolation

SPEC_TTL_SECS = 3600.0


def instrument_from_okx(raw: Any) -> Instrument:
    r = as_builtin(raw)
    return Instrument(
        instId=r["instId"],
        instType=r.get("instType", ""),
        ctVal=r.get("ctVal", ""),
        ctValCcy=r.get("ctValCcy", ""),
        ctMult=r.get("ctMult", ""),
        ctType=r.get("ctType", ""),
        lotSz=r.get("lotSz", ""),
        minSz=r.get("minSz", ""),
        tickSz=r.get("tickSz", ""),
        lever=r.get("lever", ""),
        settleCcy=r.get("settleCcy", ""),
        state=r.get("state", ""),
    )


class InstrumentCatalog:
    def __init__(self, okx: Any, clock=time.monotonic) -> None:
        self._okx = okx
        self._clock = clock
        self._specs: dict[str, Instrument] = {}
        self._rules: dict[str, InstrumentRules] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        rows = await self._okx.get_instruments("SWAP")
        self._specs = {i.instId: i for i in map(instrument_from_okx, rows)}
        rules: dict[str, InstrumentRules] = {}
        for row in rows:
            try:
                rules[row.instId] = InstrumentRules.from_okx(row)
            except RuleViolation:
                continue  # no tick/lot/min from OKX: not tradable here (rules() answers None)
        self._rules = rules
        self._loaded_at = self._clock()

    async def specs(self, inst_ids: list[str]) -> dict[str, Instrument]:
        async with self._lock:
            missing = [i for i in inst_ids if i not in self._specs]
            age = None if self._loaded_at is None else self._clock() - self._loaded_at
            # Reload when stale, or when asked for an unknown id (a new listing) but not more than every 30 s.
            if age is None or age > SPEC_TTL_SECS or (missing and age > 30):
                await self._refresh()
        return {i: self._specs[i] for i in inst_ids if i in self._specs}

    async def get(self, inst_id: str) -> Instrument | None:
        return (await self.specs([inst_id])).get(inst_id)

    async def rules(self, inst_id: str) -> InstrumentRules | None:
        await self.specs([inst_id])
        return self._rules.get(inst_id)
