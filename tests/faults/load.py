"""Load scenarios shared by `tests/faults/test_load.py` (short) and `scripts/soak.py` (long)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp

from tests.stack import Api


def group_rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (granian serves from a worker child), from /proc."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if int(fields.get("Pid", "0")) == pid or int(fields.get("PPid", "0").strip() or 0) == pid:
            total += int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    return total


async def concurrent_triggers(api: Api, count: int) -> dict[int, int]:
    """`count` manual trigger requests at once; returns {status: how many}."""
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(
        connector=connector, headers=api.headers, timeout=aiohttp.ClientTimeout(total=120)
    ) as http:

        async def one() -> int:
            async with http.post(api.url + "/api/model/strategy-run", json={"instId": "BTC-USDT-SWAP"}) as resp:
                await resp.read()
                return resp.status

        for status in await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True):
            key = status if isinstance(status, int) else -1
            statuses[key] = statuses.get(key, 0) + 1
    return statuses


async def sustained_reads(api: Api, pid: int, seconds: float, connections: int = 8, sample_secs: float = 5.0) -> dict:
    """Market-data reads from `connections` clients for `seconds`; RSS of the API sampled every `sample_secs`."""
    paths = [
        "/api/market/ticker?instId=BTC-USDT-SWAP",
        "/api/market/tickers",
        "/api/market/candles?instId=BTC-USDT-SWAP&bar=1m&limit=50",
    ]
    done = 0
    errors = 0
    samples: list[tuple[float, int]] = []
    stop_at = time.monotonic() + seconds

    async def reader(http: aiohttp.ClientSession, n: int) -> None:
        nonlocal done, errors
        i = n
        while time.monotonic() < stop_at:
            async with http.get(api.url + paths[i % len(paths)]) as resp:
                await resp.read()
                done += 1
                errors += resp.status != 200
            i += 1

    async def sampler() -> None:
        began = time.monotonic()
        while time.monotonic() < stop_at:
            samples.append((round(time.monotonic() - began, 1), group_rss_kib(pid)))
            await asyncio.sleep(sample_secs)

    async with aiohttp.ClientSession(headers=api.headers, timeout=aiohttp.ClientTimeout(total=30)) as http:
        await asyncio.gather(sampler(), *(reader(http, n) for n in range(connections)))
    warm = [rss for t, rss in samples if t >= min(60.0, seconds / 3)] or [s[1] for s in samples]
    third = max(1, len(warm) // 3)
    early, late = sum(warm[:third]) / third, sum(warm[-third:]) / third
    return {
        "requests": done,
        "errors": errors,
        "rps": round(done / seconds, 1),
        "samples": samples,
        "rss_early_kib": round(early),
        "rss_late_kib": round(late),
        "growth_pct": round(100 * (late - early) / early, 1),
    }


def cpu_note() -> str:
    load = Path("/proc/loadavg").read_text().split()[:3]
    return f"{os.cpu_count()} cores, load {' '.join(load)}"
