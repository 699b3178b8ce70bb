"""Specs of the SWAP instruments the simulator knows (values as OKX publishes them)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class InstrumentSpec:
    inst_id: str
    ct_val: Decimal
    lot_sz: Decimal
    min_sz: Decimal
    tick_sz: Decimal
    max_lever: int
    start_price: Decimal
    list_time: str
    max_mkt_sz: str = "12000"

    max_lmt_sz_text: str = "100000000"

    @property
    def max_mkt_sz_dec(self) -> Decimal:
        return Decimal(self.max_mkt_sz)

    @property
    def max_lmt_sz(self) -> Decimal:
        return Decimal(self.max_lmt_sz_text)

    @property
    def base_ccy(self) -> str:
        return self.inst_id.split("-")[0]

    @property
    def family(self) -> str:
        return self.inst_id.rsplit("-", 1)[0]

    def as_okx(self) -> dict:
        """One `data[]` item of GET /api/v5/public/instruments, keyed like the recorded BTC-USDT-SWAP item."""
        return {
            "alias": "",
            "auctionEndTime": "",
            "baseCcy": "",
            "category": "1",
            "ctMult": "1",
            "ctType": "linear",
            "ctVal": str(self.ct_val),
            "ctValCcy": self.base_ccy,
            "expTime": "",
            "instFamily": self.family,
            "instId": self.inst_id,
            "instType": "SWAP",
            "lever": str(self.max_lever),
            "listTime": self.list_time,
            "lotSz": str(self.lot_sz),
            "maxIcebergSz": "100000000.0000000000000000",
            "maxLmtAmt": "20000000",
            "maxLmtSz": self.max_lmt_sz_text,
            "maxMktAmt": "",
            "maxMktSz": self.max_mkt_sz,
            "maxStopSz": self.max_mkt_sz,
            "maxTriggerSz": "100000000.0000000000000000",
            "maxTwapSz": "100000000.0000000000000000",
            "minSz": str(self.min_sz),
            "optType": "",
            "quoteCcy": "",
            "ruleType": "normal",
            "settleCcy": "USDT",
            "state": "live",
            "stk": "",
            "tickSz": str(self.tick_sz),
            "uly": self.family,
        }


def _spec(
    inst_id: str,
    ct_val: str,
    lot: str,
    min_sz: str,
    tick: str,
    lever: int,
    price: str,
    listed: str,
    max_mkt: str = "12000",
) -> InstrumentSpec:
    return InstrumentSpec(
        inst_id, Decimal(ct_val), Decimal(lot), Decimal(min_sz), Decimal(tick), lever, Decimal(price), listed, max_mkt
    )


SPECS: dict[str, InstrumentSpec] = {
    s.inst_id: s
    for s in (
        _spec("BTC-USDT-SWAP", "0.01", "0.1", "0.1", "0.1", 100, "65000", "1573557408000", "12000"),
        _spec("ETH-USDT-SWAP", "0.1", "0.1", "0.1", "0.01", 100, "3200", "1573557408000", "20000"),
        _spec("SOL-USDT-SWAP", "1", "0.01", "0.01", "0.01", 50, "150", "1611916828000", "20000"),
        _spec("XRP-USDT-SWAP", "100", "1", "1", "0.0001", 75, "0.6", "1577095394000", "50000"),
        _spec("DOGE-USDT-SWAP", "1000", "0.01", "0.01", "0.00001", 75, "0.15", "1610694960000", "50000"),
    )
}
