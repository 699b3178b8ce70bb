"""Price paths: replay follows the candle file, the walk stays on the tick grid, candles aggregate consistently."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from okxsim.instruments import SPECS
from okxsim.prices import Market, PriceTrack, load_replay_rows
from tests.helpers import REPO_ROOT

XRP_FILE = REPO_ROOT / "data/candles/freqtrade_XRP_USDT_USDT-5m-futures.json"
T0 = 1_700_000_000_000


def test_replay_follows_the_file_with_scale():
    closes = load_replay_rows(XRP_FILE)
    market = Market(
        SPECS,
        ("XRP-USDT-SWAP",),
        seed=1,
        tick_ms=500,
        history_minutes=60,
        now_ms=T0,
        replay_closes=closes,
        replay_scale=Decimal(2),
    )
    track = market.tracks["XRP-USDT-SWAP"]
    assert track.last == track.quantize(closes[0] * 2)
    seen = []
    for i in range(1, 6):
        market.step(T0 + i * 500)
        seen.append(track.last)
    assert seen == [track.quantize(c * 2) for c in closes[1:6]]
    market.paused = True
    assert market.step(T0 + 10_000) == [] and track.last == seen[-1]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), steps=st.integers(1, 200))
def test_walk_stays_positive_on_the_tick_grid_and_minutes_are_consistent(seed, steps):
    spec = SPECS["SOL-USDT-SWAP"]
    track = PriceTrack(spec, spec.start_price, seed, 500, 30, T0)
    for i in range(steps):
        track.walk(T0 + i * 500)
        assert track.last > 0 and track.last % spec.tick_sz == 0
    rows = track.candles("1m", T0 + steps * 500, after=None, before=None, limit=300, history=False)
    assert Decimal(rows[0][4]) == track.last
    for row in rows:
        o, h, low, c = map(Decimal, row[1:5])
        assert low <= min(o, c) <= max(o, c) <= h
    five = track.candles("5m", T0 + steps * 500, after=None, before=None, limit=3, history=False)
    first_5m = [r for r in rows if int(five[1][0]) <= int(r[0]) < int(five[1][0]) + 300_000]
    assert five[1][1] == first_5m[-1][1] and five[1][4] == first_5m[0][4]
    assert Decimal(five[1][5]) == sum(Decimal(r[5]) for r in first_5m)
