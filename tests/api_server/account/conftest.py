"""Process fixtures for the account/trade tests: the real OKX simulator (`python -m okxsim`) and the real
trading API (`python -m api_server`) on free ports, with a fresh PostgreSQL database per stack.

`launch(api_env={...}, sim_env={...})` starts one stack; everything is stopped after the test.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from shared.okx_auth import iso_timestamp, sign
from tests.conftest import _server_url
from tests.helpers import PYTHON, base_env, free_port, running, scratch_database, wait_until

SIM_KEY, SIM_SECRET, SIM_PASSPHRASE = "acct-sim-key", "acct-sim-secret-5f0c2a9e", "acct-sim-passphrase-77"
API_TOKEN = "acct-test-token-" + uuid.uuid4().hex
INST = "BTC-USDT-SWAP"


def new_database():
    return scratch_database(_server_url(), "t_acct")


@dataclass
class Stack:
    sim: str
    api: str
    database_url: str
    api_log: Path
    sim_port: int
    api_env: dict[str, str]
    answers: list[str] = field(default_factory=list)

    # -- API ---------------------------------------------------------------------------------------
    def call(self, method: str, path: str, *, token: str | None = API_TOKEN, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        resp = httpx.request(method, self.api + path, headers=headers, timeout=30, **kwargs)
        self.answers.append(resp.text)
        return resp

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        if body is not None and "content" not in kwargs:
            kwargs["json"] = body
        return self.call("POST", path, **kwargs)

    # -- simulator control -------------------------------------------------------------------------
    def sim_state(self) -> dict[str, Any]:
        return httpx.get(self.sim + "/_sim/state", timeout=10).json()

    def sim_equity(self) -> Decimal:
        """The simulator's trading equity: its USDT `eq` (what the API's risk, PnL% and equity curve use, issue 11),
        which is its totalEq only while the account holds nothing but USDT."""
        balance = self.sim_state()["balance"]
        usdt = [d for d in balance.get("details", []) if d.get("ccy") == "USDT"]
        return Decimal(usdt[0]["eq"]) if usdt else Decimal(balance["totalEq"])

    def set_price(self, price: Decimal | str, inst_id: str = INST) -> None:
        resp = httpx.post(self.sim + "/_sim/price", json={"instId": inst_id, "price": str(price)}, timeout=10)
        assert resp.status_code == 200, resp.text

    def sim_requests(self) -> list[dict[str, Any]]:
        return httpx.get(self.sim + "/_sim/requests", timeout=10).json()["requests"]

    def sim_call(self, method: str, target: str, body: Any = None) -> dict[str, Any]:
        """A signed request straight to the simulator, as another OKX client (the OKX app) would send it."""
        text = json.dumps(body, separators=(",", ":")) if body is not None else ""
        ts = iso_timestamp()
        headers = {
            "OK-ACCESS-KEY": SIM_KEY,
            "OK-ACCESS-SIGN": sign(SIM_SECRET, ts, method, target, text),
            "OK-ACCESS-TIMESTAMP": ts,
            "OK-ACCESS-PASSPHRASE": SIM_PASSPHRASE,
            "x-simulated-trading": "1",
            "Content-Type": "application/json",
        }
        resp = httpx.request(
            method, self.sim + target, content=text.encode() if text else None, headers=headers, timeout=10
        )
        return resp.json()

    # -- database ----------------------------------------------------------------------------------
    def sql(self, query: str, *args: Any) -> list[dict[str, Any]]:
        with psycopg.connect(self.database_url, autocommit=True, row_factory=dict_row) as conn:
            cur = conn.execute(query, args)
            return cur.fetchall() if cur.description else []


FAST_API_ENV = {
    "BALANCE_SNAPSHOT_INTERVAL_SECS": "0.1",
    "ACCOUNT_SYNC_INTERVAL_SECS": "0.3",
    "OKX_REST_POLL_SECS": "0.5",
    "OKX_MAX_RETRIES": "2",
    "OKX_INST_IDS": INST,
    "INITIAL_EQUITY": "10000",
    "AGENT_BASE_URL": "http://127.0.0.1:9",
}


@pytest.fixture
def launch(tmp_path: Path):
    """Start the simulator and the API; `launch(api_env=..., sim_env=..., database_url=...)` -> Stack."""
    with contextlib.ExitStack() as stack:

        def start(
            api_env: dict[str, str] | None = None,
            sim_env: dict[str, str] | None = None,
            database_url: str | None = None,
            sim: str | None = None,
        ) -> Stack:
            tag = uuid.uuid4().hex[:6]
            if sim is None:
                sim_port = free_port()
                env = base_env(
                    OKXSIM_PORT=str(sim_port),
                    OKXSIM_API_KEY=SIM_KEY,
                    OKXSIM_API_SECRET=SIM_SECRET,
                    OKXSIM_PASSPHRASE=SIM_PASSPHRASE,
                    OKXSIM_TICK_MS="3600000",
                    OKXSIM_SEED="5",
                    OKXSIM_RATE_LIMITS="false",
                    OKXSIM_INST_IDS="BTC-USDT-SWAP,ETH-USDT-SWAP",
                    **(sim_env or {}),
                )
                sim = f"http://127.0.0.1:{sim_port}"
                stack.enter_context(
                    running([PYTHON, "-m", "okxsim"], env, f"{sim}/_sim/state", tmp_path / f"sim-{tag}.log", timeout=60)
                )
            sim_port = int(sim.rsplit(":", 1)[1])
            db = database_url or stack.enter_context(new_database())
            api_port = free_port()
            api_vars = {
                "API_HOST": "127.0.0.1",
                "API_PORT": str(api_port),
                "API_TOKEN": API_TOKEN,
                "DATABASE_URL": db,
                "OKX_BASE_URL": sim,
                "OKX_WS_PUBLIC_URL": f"ws://127.0.0.1:{sim_port}/ws/v5/public",
                "OKX_API_KEY": SIM_KEY,
                "OKX_API_SECRET": SIM_SECRET,
                "OKX_PASSPHRASE": SIM_PASSPHRASE,
                **FAST_API_ENV,
                **(api_env or {}),
            }
            api = f"http://127.0.0.1:{api_port}"
            log_path = tmp_path / f"api-{tag}.log"
            stack.enter_context(
                running([PYTHON, "-m", "api_server"], base_env(**api_vars), f"{api}/api/health", log_path, timeout=60)
            )
            result = Stack(sim=sim, api=api, database_url=db, api_log=log_path, sim_port=sim_port, api_env=api_vars)
            # The loops have read the account once: the first snapshot is stored.
            wait_until(lambda: result.sql("select 1 from balance_snapshots limit 1"), what="first snapshot")
            return result

        yield start
