"""Automation on while the agent is still starting: the scheduler waits (bounded) for the agent's health
instead of recording failed runs, and runs that fail because the agent is unreachable never count toward
the automatic pause. Real API process, real simulator, the stand-in agent started late (or never)."""

from __future__ import annotations

import time

from tests.api_server.scheduler.conftest import API_TOKEN, BTC, wait_leader, wait_until
from tests.api_server.stand_in_agent import StandInAgent

VOL = {"STRATEGY_VOL_TRIGGER_ENABLED": "true"}


def _finished(api, count: int, timeout: float = 20.0) -> list[dict]:
    def done():
        runs = api.runs()
        return runs if len(runs) >= count and all(r["status"] not in ("queued", "running") for r in runs) else None

    return wait_until(done, timeout, what=f"{count} finished runs")


def test_start_up_runs_wait_for_the_agent_instead_of_failing(start_api, okxsim):
    okxsim.set_price(BTC, "50000")
    late = StandInAgent(API_TOKEN)  # its port is chosen; nothing listens yet
    with start_api(**VOL, AGENT_BASE_URL=late.base_url, STRATEGY_AGENT_READY_WAIT_SECS="20") as api:
        wait_leader(api)
        # start-up: no stored baseline, so one volatility run per instrument, before the agent is up
        wait_until(lambda: any(r["status"] == "running" for r in api.runs()), 10, what="a run waiting for the agent")
        time.sleep(1.5)
        assert all(r["status"] in ("running", "queued") for r in api.runs()), api.runs()
        with late:
            runs = _finished(api, 2)
            assert [r["status"] for r in runs] == ["succeeded", "succeeded"], runs
            assert api.status()["consecutiveFailures"] == 0


def test_agent_unreachable_failures_do_not_pause_automation(start_api, okxsim):
    okxsim.set_price(BTC, "50000")
    never = StandInAgent(API_TOKEN)  # never started
    with start_api(
        **VOL,
        AGENT_BASE_URL=never.base_url,
        STRATEGY_AGENT_READY_WAIT_SECS="0.3",
        STRATEGY_MAX_CONSECUTIVE_FAILURES="1",
    ) as api:
        wait_leader(api)
        runs = _finished(api, 2)
        assert all(r["status"] == "failed" and "agent unreachable" in r["error"] for r in runs), runs
        status = api.status()
        assert not status["paused"] and status["consecutiveFailures"] == 0, status
