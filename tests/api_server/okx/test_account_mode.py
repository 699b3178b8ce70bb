"""Account mode at start-up and the equity risk rules use (pure)."""

from __future__ import annotations

import json
from decimal import Decimal

import msgspec
import pytest

from api_server.okx.account_mode import (
    AccountMode,
    AccountSetupError,
    check_account_config,
    refuse_inverse,
    trading_equity,
)
from api_server.okx.models import AccountConfig, Balance, Instrument
from tests.helpers import FIXTURES


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())["data"][0]


def test_spot_mode_is_a_start_up_error_naming_the_setting():
    with pytest.raises(AccountSetupError) as err:
        check_account_config(AccountConfig(acctLv="1", posMode="net_mode"))
    text = str(err.value)
    assert "Spot mode" in text and "Account mode" in text and "Futures mode" in text


@pytest.mark.parametrize(
    "lv,name", [("2", "Futures mode"), ("3", "Multi-currency margin mode"), ("4", "Portfolio margin mode")]
)
def test_margin_modes_are_accepted(lv, name):
    mode = check_account_config(AccountConfig(acctLv=lv, posMode="long_short_mode"))
    assert mode.name == name
    assert mode.pos_mode == ("net_mode" if lv == "4" else "long_short_mode")
    with pytest.raises(AccountSetupError):
        check_account_config(AccountConfig(acctLv="", posMode="net_mode"))


def test_the_docs_config_fixture_is_futures_mode():
    config = msgspec.convert(fixture("rest_account_config.docs.json"), AccountConfig)
    assert check_account_config(config) == AccountMode("2", "long_short_mode")


def test_a_many_coin_demo_account_trades_on_its_usdt_not_its_total():
    """The recorded demo balance: totalEq is every coin at USD value; risk uses the USDT line."""
    balance = msgspec.convert(fixture("rest_account_balance.ccxt_recorded.trimmed.json"), Balance)
    usdt = (
        next(d for d in balance.details if d.ccy == "USDT") if any(d.ccy == "USDT" for d in balance.details) else None
    )
    equity = trading_equity(balance, AccountMode("2", "net_mode"))
    assert equity.source == "USDT eq" and equity.total_eq == Decimal(balance.totalEq)
    if usdt is None:
        assert equity.equity == 0
    else:
        assert equity.equity == Decimal(usdt.eq)


def test_futures_mode_uses_usdt_eq_and_multi_currency_uses_adjeq():
    balance = msgspec.convert(fixture("rest_account_balance.docs.json"), Balance)
    futures = trading_equity(balance, AccountMode("2", "net_mode"))
    assert (futures.equity, futures.available, futures.source) == (
        Decimal("4992.890093622894"),
        Decimal("4834.3170936228935"),
        "USDT eq",
    )
    assert futures.equity != futures.total_eq == Decimal("55837.43556134779")
    multi = trading_equity(balance, AccountMode("3", "net_mode"))
    assert (multi.equity, multi.source) == (Decimal("55415.624719833286"), "adjEq")


def test_no_usdt_line_means_no_trading_equity():
    balance = Balance(totalEq="43700000", details=[])
    assert trading_equity(balance, AccountMode("2", "net_mode")).equity == 0


def test_inverse_swaps_in_the_list_are_refused():
    specs = {
        "BTC-USD-SWAP": Instrument(instId="BTC-USD-SWAP", ctType="inverse"),
        "BTC-USDT-SWAP": Instrument(instId="BTC-USDT-SWAP", ctType="linear"),
    }
    refuse_inverse(["BTC-USDT-SWAP"], specs)
    with pytest.raises(AccountSetupError, match="BTC-USD-SWAP.*OKX_INST_IDS"):
        refuse_inverse(["BTC-USDT-SWAP", "BTC-USD-SWAP"], specs)


# -- start-up check against a stand-in on a real socket --------------------------------------------------
async def test_start_up_refuses_spot_mode_and_inverse_swaps_and_survives_okx_down(okx, client):
    from api_server.market.instruments import InstrumentCatalog
    from api_server.okx.account_mode import FUTURES_MODE, verify_account

    config = fixture("rest_account_config.docs.json")
    swap = json.loads((FIXTURES / "rest_public_instruments.swap_item.recorded.json").read_text())
    inverse = {**swap, "instId": "BTC-USD-SWAP", "ctType": "inverse", "settleCcy": "BTC"}
    okx.script(
        "GET", "/api/v5/public/instruments", (200, json.dumps({"code": "0", "msg": "", "data": [swap, inverse]}))
    )
    okx.script("GET", "/api/v5/account/config", (200, json.dumps({"code": "0", "msg": "", "data": [config]})))
    mode = await verify_account(client, ["BTC-USDT-SWAP"], InstrumentCatalog(client))
    assert mode == AccountMode("2", "long_short_mode")
    with pytest.raises(AccountSetupError, match="inverse"):
        await verify_account(client, ["BTC-USDT-SWAP", "BTC-USD-SWAP"], InstrumentCatalog(client))
    okx.script(
        "GET",
        "/api/v5/account/config",
        (200, json.dumps({"code": "0", "msg": "", "data": [{**config, "acctLv": "1"}]})),
    )
    with pytest.raises(AccountSetupError, match="Spot mode"):
        await verify_account(client, ["BTC-USDT-SWAP"], InstrumentCatalog(client))
    okx.script("GET", "/api/v5/account/config", (503, "down"))
    assert await verify_account(client, ["BTC-USDT-SWAP"], InstrumentCatalog(client)) == FUTURES_MODE
