"""`python -m okxsim` as a real process: env configuration, the ready line, SIGTERM, refusing a busy port."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import httpx

from tests.helpers import PYTHON, REPO_ROOT, base_env, free_port, running


def test_runs_as_a_process_serves_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = base_env(
        OKXSIM_PORT=str(port),
        OKXSIM_SEED="3",
        OKXSIM_INST_IDS="ETH-USDT-SWAP,DOGE-USDT-SWAP",
        OKXSIM_INITIAL_USDT="2500",
        OKXSIM_POS_MODE="long_short_mode",
        OKXSIM_API_KEY="k1",
        OKXSIM_HOLDINGS="",
    )
    log = tmp_path / "okxsim.log"
    base = f"http://127.0.0.1:{port}"
    with running([PYTHON, "-m", "okxsim"], env, base + "/api/v5/public/time", log) as proc:
        instruments = httpx.get(base + "/api/v5/public/instruments?instType=SWAP").json()["data"]
        assert [i["instId"] for i in instruments] == ["ETH-USDT-SWAP", "DOGE-USDT-SWAP"]
        assert instruments[1]["ctVal"] == "1000"
        state = httpx.get(base + "/_sim/state").json()
        assert state["posMode"] == "long_short_mode" and state["balance"]["details"][0]["eq"] == "2500"
        unknown_key = httpx.get(
            base + "/api/v5/account/balance",
            headers={
                "OK-ACCESS-KEY": "okxsim-key",
                "OK-ACCESS-SIGN": "x",
                "OK-ACCESS-TIMESTAMP": "2020-01-01T00:00:00.000Z",
                "OK-ACCESS-PASSPHRASE": "p",
            },
        )
        assert unknown_key.status_code == 401 and unknown_key.json()["code"] == "50111"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    assert f"okxsim listening on http://127.0.0.1:{port}" in log.read_text()


def test_refuses_a_port_in_use_and_bad_settings():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [PYTHON, "-m", "okxsim"],
            env=base_env(OKXSIM_PORT=str(port)),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 1 and "already in use" in done.stderr
    started = time.monotonic()
    done = subprocess.run(
        [PYTHON, "-m", "okxsim"],
        env=base_env(OKXSIM_TICK_MS="50"),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "OKXSIM_TICK_MS" in done.stderr
    assert time.monotonic() - started < 30
