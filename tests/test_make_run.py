"""`make run`'s orchestrator (scripts/run.py) from the outside: with no OKX keys it starts the simulator, the API
(and the agent and web app when present), prints the address and token, serves changing simulated prices within
60 s, and stops everything on SIGINT (Ctrl-C)."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx

from tests.helpers import PYTHON, REPO_ROOT, base_env, free_port


def test_run_starts_the_system_on_the_simulator_and_stops_on_ctrl_c(fresh_database_url, tmp_path):
    env_file = tmp_path / "run.env"
    ports = {name: str(free_port()) for name in ("API_PORT", "AGENT_PORT", "OKXSIM_PORT", "WEB_PORT")}
    env = base_env(DATABASE_URL=fresh_database_url, AITRADER_ENV_FILE=str(env_file), **ports)
    proc = subprocess.Popen(
        [PYTHON, str(REPO_ROOT / "scripts" / "run.py")],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started = time.monotonic()
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Access token:"):
                break
        assert time.monotonic() - started < 60, "".join(lines)
        token = lines[-1].split(":", 1)[1].strip()
        assert f"http://127.0.0.1:{ports['WEB_PORT']}" in "".join(lines)
        assert token and f"API_TOKEN={token}" in env_file.read_text()  # generated into the env file
        headers = {"Authorization": f"Bearer {token}"}
        seen = set()
        deadline = time.monotonic() + 20
        while len(seen) < 2 and time.monotonic() < deadline:
            r = httpx.get(
                f"http://127.0.0.1:{ports['WEB_PORT']}/api/market/ticker",
                params={"instId": "BTC-USDT-SWAP"},
                headers=headers,
                timeout=5,
            )
            assert r.status_code == 200, r.text
            seen.add(r.json()["last"])
            time.sleep(0.3)
        assert len(seen) >= 2, "simulated prices did not change"
        # On the simulator the initial equity is the simulated account's starting balance, so PnL% shows at once.
        initial = httpx.get(
            f"http://127.0.0.1:{ports['WEB_PORT']}/api/account/initial-equity", headers=headers, timeout=5
        ).json()
        assert initial["amount"] == "10000"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=40)
    assert "AiTrader stopped." in out
    for port in (ports["API_PORT"], ports["OKXSIM_PORT"], ports["WEB_PORT"]):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            raise AssertionError(f"port {port} still answers after Ctrl-C")
        except httpx.ConnectError:
            pass
