"""Candle import: the three formats, malformed rows named by index, order and duplicates."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api_server.lab.candles import CandleRowError, check_bar, normalise, parse_file_text
from tests.helpers import REPO_ROOT


def test_the_repository_candle_files_parse():
    for name, bar in (("freqtrade_XRP_USDT_USDT-5m-futures.json", "5m"), ("freqtrade_UNITTEST_BTC-1m.json", "1m")):
        rows = parse_file_text((REPO_ROOT / "data" / "candles" / name).read_text())
        check_bar(rows, bar)
        assert all(a.ts < b.ts for a, b in zip(rows, rows[1:]))


def test_okx_envelope_newest_first_with_strings_drops_the_forming_candle():
    body = {
        "code": "0",
        "msg": "",
        "data": [
            ["1700000600000", "3", "3.5", "2.9", "3.2", "10", "30", "30", "0"],
            ["1700000300000", "2", "3.1", "1.9", "3", "12", "36", "36", "1"],
            ["1700000000000", "1", "2.2", "0.9", "2", "11", "22", "22", "1"],
        ],
    }
    rows = parse_file_text(json.dumps(body))
    assert [r.ts for r in rows] == [1700000000000, 1700000300000]
    assert rows[1].close == Decimal("3")


def test_csv_with_header_and_iso_times():
    text = "date,open,high,low,close,volume\n2021-11-15T00:05:00Z,2,3,1,2.5,7\n2021-11-15T00:00:00Z,1,2,0.5,2,5\n"
    rows = parse_file_text(text)
    assert [r.ts for r in rows] == [1636934400000, 1636934700000]
    check_bar(rows, "5m")


@pytest.mark.parametrize(
    "rows, index, field",
    [
        ([[1, 1, 2, 0.5, 1.5, 1], [2, "x", 2, 1, 1, 1]], 1, "open"),
        ([[1, 1, 2, 0.5, 1.5, 1], [2, 1, 2, 1, 1, 1], [3, 1, 0.5, 1, 1, 1]], 2, "high"),
        ([[1, 1, 2, 0.5, 1.5, 1], [1, 1, 2, 1, 1, 1]], 1, "ts"),
        ([[1, 1, 2, 0.5, 1.5]] * 0 + [[1, 1, 2, 0.5, 1.5, 1], [5, -1, 2, 1, 1, 1]], 1, "open"),
        ([[1, 1, 2, 0.5, 1.5, 1], "nope"], 1, "row"),
    ],
)
def test_malformed_row_is_named_by_its_index(rows, index, field):
    with pytest.raises(CandleRowError) as caught:
        normalise(rows)
    assert (caught.value.index, caught.value.field) == (index, field)


def test_a_1m_file_declared_5m_is_refused():
    rows = parse_file_text((REPO_ROOT / "data" / "candles" / "freqtrade_UNITTEST_BTC-1m.json").read_text())
    with pytest.raises(CandleRowError, match="60 s apart"):
        check_bar(rows, "5m")


@given(st.permutations(list(range(20))))
def test_any_order_comes_out_oldest_first(order):
    rows = [[1_700_000_000_000 + i * 60_000, 1, 2, 0.5, 1.5, 3] for i in order]
    assert [r.ts for r in normalise(rows)] == sorted(r[0] for r in rows)
