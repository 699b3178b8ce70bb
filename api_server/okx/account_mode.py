"""The OKX account settings this system needs, and which equity its risk rules use (pure).

Account mode (`acctLv` in GET /api/v5/account/config, OKX_FACTS §3.12):
  1 Spot mode — cannot trade perpetual swaps: refused at start-up with the setting to change;
  2 Futures mode (single-currency margin: each position is margined in its settle currency, USDT here);
  3 Multi-currency margin, 4 Portfolio margin — all currencies count as margin, in USD.
Trading equity (what risk %, the daily-loss latch, notionalUsdt sizing and PnL% use) is therefore:
  acctLv 2 → the USDT balance line: `eq` (equity) and `availEq` (available; `availBal` when empty);
  acctLv 3/4 → the account's `adjEq` (adjusted, margin-eligible equity, USD) and top-level `availEq`.
Never `totalEq`: it is every coin in the account at USD value (a demo account holds ~43.7M USD of coins
next to its USDT), so a risk % of it would size orders no USDT margin can carry. `totalEq` is shown as the
account value, beside the trading equity.
Inverse (coin-margined) swaps in OKX_INST_IDS are refused at start-up: sizing here is in USDT (linear).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

log = logging.getLogger("aitrader.api.okx.account")

ACCOUNT_MODES = {"1": "Spot mode", "2": "Futures mode", "3": "Multi-currency margin mode", "4": "Portfolio margin mode"}
MARGIN_CCY = "USDT"
SETTING_TO_CHANGE = (
    "on OKX (web or app): Trade → Settings (gear icon) → Account mode → choose 'Futures mode' "
    "(or 'Multi-currency margin'); for demo trading change it inside Demo trading"
)


class AccountSetupError(Exception):
    """The OKX account cannot be traded by this system as configured; the message says what to change."""


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


@dataclass(frozen=True)
class AccountMode:
    acct_lv: str
    pos_mode: str

    @property
    def name(self) -> str:
        return ACCOUNT_MODES.get(self.acct_lv, f"acctLv {self.acct_lv}")

    @property
    def cross_currency(self) -> bool:
        """Multi-currency or portfolio margin: equity is the account's adjEq, not one currency's."""
        return self.acct_lv in ("3", "4")


FUTURES_MODE = AccountMode(acct_lv="2", pos_mode="net_mode")  # until /account/config has been read


def check_account_config(config: Any) -> AccountMode:
    """The account mode from /account/config, or AccountSetupError naming the OKX setting to change."""
    acct_lv = str(getattr(config, "acctLv", "") or "")
    pos_mode = str(getattr(config, "posMode", "") or "net_mode")
    if acct_lv == "1":
        raise AccountSetupError(
            "the OKX account is in Spot mode (acctLv 1), which cannot trade perpetual swaps. Change the account mode "
            f"{SETTING_TO_CHANGE}, then restart the trading API"
        )
    if acct_lv not in ACCOUNT_MODES:
        raise AccountSetupError(
            f"OKX answered an unknown account mode acctLv {acct_lv!r}; expected 2 (Futures mode), "
            "3 (Multi-currency margin) or 4 (Portfolio margin)"
        )
    if acct_lv == "4" and pos_mode != "net_mode":
        pos_mode = "net_mode"  # Portfolio margin supports net mode only (OKX_FACTS §3.12)
    return AccountMode(acct_lv=acct_lv, pos_mode=pos_mode)


@dataclass(frozen=True)
class TradingEquity:
    equity: Decimal  # what risk percentages and PnL% are computed on
    available: Decimal | None
    source: str  # "USDT eq" | "adjEq": which field of /account/balance it is
    total_eq: Decimal | None  # the account value (all coins, USD), shown but not used by risk


def trading_equity(balance: Any, mode: AccountMode, ccy: str = MARGIN_CCY) -> TradingEquity:
    total = _dec(getattr(balance, "totalEq", ""))
    if mode.cross_currency:
        adj = _dec(getattr(balance, "adjEq", ""))
        if adj is not None:
            return TradingEquity(adj, _dec(getattr(balance, "availEq", "")), "adjEq", total)
    for detail in getattr(balance, "details", None) or []:
        if getattr(detail, "ccy", "") == ccy:
            eq = _dec(detail.eq)
            available = _dec(getattr(detail, "availEq", "")) or _dec(getattr(detail, "availBal", ""))
            return TradingEquity(eq if eq is not None else Decimal(0), available, f"{ccy} eq", total)
    # No USDT line: OKX omits currencies with zero balance, so there is no USDT margin at all.
    return TradingEquity(Decimal(0), Decimal(0), f"{ccy} eq", total)


def refuse_inverse(inst_ids: Iterable[str], instruments: dict[str, Any]) -> None:
    """AccountSetupError when a configured instrument is an inverse (coin-margined) swap."""
    inverse = sorted(i for i in inst_ids if str(getattr(instruments.get(i), "ctType", "")) == "inverse")
    if inverse:
        raise AccountSetupError(
            f"OKX_INST_IDS lists inverse (coin-margined) swaps {', '.join(inverse)}: this system sizes and risks in "
            "USDT and trades linear USDT-margined swaps only (e.g. BTC-USDT-SWAP); remove them from OKX_INST_IDS"
        )


async def verify_account(okx: Any, inst_ids: Iterable[str], instruments: Any) -> AccountMode:
    """Start-up: the account mode from OKX (AccountSetupError when it cannot trade swaps) and no inverse swaps
    in OKX_INST_IDS. OKX unreachable: Futures-mode rules (USDT equity, the conservative reading) and a warning."""
    from api_server.okx.errors import OkxError

    inst_ids = list(inst_ids)
    try:
        mode = check_account_config(await okx.get_account_config())
        refuse_inverse(inst_ids, await instruments.specs(inst_ids))
    except AccountSetupError as exc:
        log.critical("cannot trade with this OKX account: %s", exc)
        raise
    except OkxError as exc:
        log.warning("could not read the OKX account mode at start-up (%s); using Futures-mode rules (USDT equity)", exc)
        return FUTURES_MODE
    log.info(
        "OKX account: %s (acctLv %s), %s; trading equity = %s",
        mode.name,
        mode.acct_lv,
        mode.pos_mode,
        "adjEq" if mode.cross_currency else "USDT eq",
    )
    return mode
