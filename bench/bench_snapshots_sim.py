"""Snapshot-loop benchmark against the real services: the simulator replays a candle file
(OKXSIM_REPLAY_FILE, one candle close per simulator tick), the trading API holds one fixed
position opened through `POST /api/trade/order`, and its balance-snapshot loop reads the equity
every BALANCE_SNAPSHOT_INTERVAL_SECS with the default thresholds (1 USDT / 0.01 %).

Every reading is published as a `balance` event on `GET /api/stream` (with `stored` true when
written), so the benchmark sees the true equity of each loop tick and the stored curve. It reports
rows written against one row per tick, the largest gap between the stored curve and the true
equity, and checks every gap stays within the thresholds (and that the database holds exactly the
rows the events announced).

    .venv/bin/python bench/bench_snapshots_sim.py                    # 20 s, 2 XRP contracts
    .venv/bin/python bench/bench_snapshots_sim.py --secs 60 --contracts 10

Needs PostgreSQL: BENCH_DATABASE_URL (set by `make bench`) or DATABASE_URL; a fresh database is
created on that server for the run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from api_server.account.snapshots import DEFAULT_MIN_ABS_CHANGE, DEFAULT_MIN_RELATIVE_CHANGE  # noqa: E402
from bench.bench_snapshots import replay_snapshot_rule  # noqa: E402
from tests.helpers import PYTHON, base_env, free_port, running, scratch_database  # noqa: E402

DEFAULT_CANDLES = REPO_ROOT / "data" / "candles" / "freqtrade_XRP_USDT_USDT-5m-futures.json"
INST = "XRP-USDT-SWAP"
KEY, SECRET, PASSPHRASE = "bench-key", "bench-secret-" + uuid.uuid4().hex, "bench-pass"
TOKEN = "bench-token-" + uuid.uuid4().hex


def fresh_database(server: str):
    return scratch_database(server, "bench_snap")


def balance_events(api: str, secs: float, on_open):
    """(totalEq, stored) of every balance event for `secs` seconds; `on_open()` runs once subscribed."""
    deadline = time.monotonic() + secs
    event = None
    with httpx.stream(
        "GET", api + "/api/stream", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=httpx.Timeout(5.0, read=20.0)
    ) as resp:
        on_open()
        for line in resp.iter_lines():
            if time.monotonic() > deadline:
                return
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "balance":
                data = json.loads(line[5:])
                yield Decimal(data["totalEq"]), bool(data["stored"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_CANDLES)
    parser.add_argument("--secs", type=float, default=20.0, help="how long to record the loop")
    parser.add_argument("--contracts", default="2", help="long XRP-USDT-SWAP contracts (ctVal 100 XRP) held")
    parser.add_argument("--sim-tick-ms", type=int, default=100, help="simulator tick: one candle close per tick")
    parser.add_argument("--loop-secs", type=float, default=0.1, help="BALANCE_SNAPSHOT_INTERVAL_SECS")
    args = parser.parse_args(argv)
    server = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not server:
        print("skipped: set BENCH_DATABASE_URL or DATABASE_URL (make bench does)")
        return 0
    min_abs, min_rel = DEFAULT_MIN_ABS_CHANGE, DEFAULT_MIN_RELATIVE_CHANGE
    logs = Path(tempfile.mkdtemp(prefix="bench-snap-"))
    sim_port, api_port = free_port(), free_port()
    sim, api = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{api_port}"
    sim_env = base_env(
        OKXSIM_PORT=str(sim_port),
        OKXSIM_API_KEY=KEY,
        OKXSIM_API_SECRET=SECRET,
        OKXSIM_PASSPHRASE=PASSPHRASE,
        OKXSIM_INST_IDS=INST,
        OKXSIM_REPLAY_FILE=str(args.file),
        OKXSIM_TICK_MS=str(args.sim_tick_ms),
        OKXSIM_RATE_LIMITS="false",
    )
    with (
        fresh_database(server) as db,
        running([PYTHON, "-m", "okxsim"], sim_env, f"{sim}/_sim/state", logs / "okxsim.log", timeout=60),
    ):
        httpx.post(sim + "/_sim/pause").raise_for_status()
        api_env = base_env(
            API_PORT=str(api_port),
            API_TOKEN=TOKEN,
            DATABASE_URL=db,
            OKX_BASE_URL=sim,
            OKX_WS_PUBLIC_URL=f"ws://127.0.0.1:{sim_port}/ws/v5/public",
            OKX_API_KEY=KEY,
            OKX_API_SECRET=SECRET,
            OKX_PASSPHRASE=PASSPHRASE,
            OKX_INST_IDS=INST,
            BALANCE_SNAPSHOT_INTERVAL_SECS=str(args.loop_secs),
            ACCOUNT_SYNC_INTERVAL_SECS="5",
            AGENT_BASE_URL="http://127.0.0.1:9",
        )
        with running([PYTHON, "-m", "api_server"], api_env, f"{api}/api/health", logs / "api.log", timeout=60):
            headers = {"Authorization": f"Bearer {TOKEN}"}
            resp = httpx.post(
                api + "/api/trade/order",
                headers=headers,
                timeout=30,
                json={"instId": INST, "side": "buy", "ordType": "market", "sz": args.contracts},
            )
            if resp.status_code != 201:
                print(f"FAILED: opening the position answered {resp.status_code}: {resp.text}")
                return 1
            time.sleep(max(0.5, 5 * args.loop_secs))  # the fee's change is stored before the replay starts
            with psycopg.connect(db) as conn:
                rows_before = conn.execute("select count(*) from balance_snapshots").fetchone()[0]
            readings = list(balance_events(api, args.secs, lambda: httpx.post(sim + "/_sim/resume").raise_for_status()))
            httpx.post(sim + "/_sim/pause").raise_for_status()
            time.sleep(2 * args.loop_secs)
            with psycopg.connect(db) as conn:
                stored_rows = conn.execute("select total_eq from balance_snapshots order by id").fetchall()
    if not readings:
        print("FAILED: no balance events received")
        return 1
    stored_events = sum(1 for _, stored in readings if stored)
    # The loop's stored curve: the last stored value at each reading (the first reading follows rows_before).
    last_stored = stored_rows[rows_before - 1][0] if rows_before else None
    max_abs = max_rel = Decimal(0)
    violations = 0
    for equity, stored in readings:
        if stored or last_stored is None:
            last_stored = equity
            continue
        gap = abs(equity - last_stored)
        rel = gap / abs(last_stored) if last_stored else Decimal(0)
        max_abs, max_rel = max(max_abs, gap), max(max_rel, rel)
        if not (gap < min_abs and rel < min_rel):
            violations += 1
    written_during = len(stored_rows) - rows_before
    # The pure rule on the same readings must make the same decisions as the loop did.
    pure = replay_snapshot_rule(
        [stored_rows[rows_before - 1][0]] + [e for e, _ in readings] if rows_before else [e for e, _ in readings],
        min_abs,
        min_rel,
    )
    pure_rows = pure.rows_written - (1 if rows_before else 0)
    ticks = len(readings)
    reduction = Decimal(100) * (ticks - stored_events) / ticks
    equities = [e for e, _ in readings]
    print(
        f"file: {args.file.name}, simulator tick {args.sim_tick_ms} ms (one candle close each), "
        f"loop every {args.loop_secs} s for {args.secs} s"
    )
    print(f"position: {args.contracts} x {INST} long (ctVal 100); equity min {min(equities)}, max {max(equities)}")
    print(f"thresholds: min_abs {min_abs} USDT, min_rel {min_rel}")
    print(
        f"loop ticks (readings): {ticks}; rows written: {stored_events} (database: {written_during}, "
        f"pure rule on the same readings: {pure_rows})"
    )
    print(
        f"reduction vs one row per tick: {reduction.quantize(Decimal('0.01'))} %  "
        f"({'goal >= 90 % met' if reduction >= 90 else 'goal >= 90 % NOT met at this position size / speed'})"
    )
    print(f"largest gap stored curve vs true equity: {max_abs} USDT, relative {max_rel.quantize(Decimal('1E-9'))}")
    # The database may hold a few more rows: readings between closing the stream and pausing the replay.
    ok = violations == 0 and stored_events == pure_rows and written_during >= stored_events
    print(
        "every gap within the thresholds; loop, database and pure rule agree"
        if ok
        else f"PROBLEM: {violations} gaps outside the thresholds, rows events/db/pure = {stored_events}/{written_during}/{pure_rows}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
