"""How many OKX WebSocket ticker frames per second one core parses and applies to the TickerBook.

Runs the feed's real frame path (`TickerFeed.handle_frame`: msgspec decode into Structs once, then
`TickerBook.update` with one listener and one subscriber queue, as the API wires it) over realistic frames
built from the recorded BTC-USDT-SWAP push. Goal: >= 20,000 frames/s.

    .venv/bin/python bench/bench_ws_parse.py [--frames 200000] [--instruments 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from api_server.okx.ws_feed import TickerFeed  # noqa: E402
from api_server.tickers import TickerBook  # noqa: E402

RECORDED = REPO_ROOT / "tests" / "fixtures" / "okx" / "ws_tickers_push.swap.recorded.json"
GOAL = 20_000


def make_frames(count: int, instruments: int) -> list[str]:
    """Frames like the recorded push: rising ts, a price walking by one tick, several instruments."""
    template = json.loads(RECORDED.read_text())
    item = template["data"][0]
    bases = ["BTC", "ETH", "SOL", "DOGE", "XRP", "LTC", "ADA", "AVAX"]
    inst_ids = [f"{bases[i % len(bases)]}-USDT-SWAP" for i in range(instruments)]
    start_ts = int(item["ts"])
    frames = []
    for n in range(count):
        inst_id = inst_ids[n % instruments]
        px = f"{31807.4 + (n % 200 - 100) / 10:.1f}"
        data = dict(item, instId=inst_id, last=px, askPx=px, bidPx=f"{float(px) - 0.1:.1f}", ts=str(start_ts + n))
        frames.append(
            json.dumps({"arg": {"channel": "tickers", "instId": inst_id}, "data": [data]}, separators=(",", ":"))
        )
    return frames


async def run(frames: list[str], instruments: int) -> tuple[float, TickerFeed]:
    book = TickerBook()
    listened = [0]
    book.add_listener(lambda _t: listened.__setitem__(0, listened[0] + 1))
    queue = book.subscribe(maxsize=1024)  # nobody drains it: exercises the drop-oldest path too
    feed = TickerFeed("ws://unused", [f"X{i}" for i in range(instruments)], book, rest_client=None)
    handle = feed.handle_frame
    start = time.perf_counter()
    for frame in frames:
        handle(frame)
    elapsed = time.perf_counter() - start
    assert book.accepted == len(frames) == listened[0], "every frame must be applied"
    assert queue.qsize() == 1024
    return elapsed, feed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--instruments", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    frames = make_frames(args.frames, args.instruments)
    print(f"frame size: {len(frames[0])} bytes, {args.frames} frames over {args.instruments} instruments")
    best = 0.0
    for i in range(args.repeat):
        elapsed, feed = asyncio.run(run(frames, args.instruments))
        rate = len(frames) / elapsed
        best = max(best, rate)
        print(
            f"run {i + 1}: {rate:,.0f} frames/s ({elapsed * 1e6 / len(frames):.2f} us/frame), tickers applied {feed.tickers_applied}"
        )
    verdict = "OK" if best >= GOAL else "BELOW GOAL"
    print(f"best: {best:,.0f} frames/s parsed and applied on one core (goal >= {GOAL:,}): {verdict}")
    return 0 if best >= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
