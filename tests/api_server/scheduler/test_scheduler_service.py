"""The scheduler inside real trading API processes (`python -m api_server`), fed by the OKX simulator's
WebSocket, calling the stand-in agent, persisting in a fresh PostgreSQL database."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import datetime

import httpx

from tests.api_server.scheduler.conftest import (
    API_TOKEN,
    BTC,
    ETH,
    Api,
    wait_leader,
    wait_price,
    wait_until,
)

VOL = {"STRATEGY_VOL_TRIGGER_ENABLED": "true"}
QUIET_SECS = 0.6  # how long "nothing more happens" is watched for


def _epoch(iso: str | None) -> float:
    assert iso is not None
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _finished(api: Api, count: int, inst_id: str | None = None, timeout: float = 10.0) -> list[dict]:
    """Wait until at least `count` runs exist and none is queued or running; newest first."""

    def done() -> list[dict] | None:
        runs = api.runs(inst_id)
        if len(runs) >= count and all(r["status"] not in ("queued", "running") for r in runs):
            return runs
        return None

    return wait_until(done, timeout, what=f"{count} finished runs")


def _idle(api: Api) -> None:
    wait_until(lambda: not (s := api.status())["running"] and s["pending"] == 0, 10, what="scheduler idle")


def test_threshold_crossing_makes_exactly_one_volatility_run_and_pushes_the_deadline(start_api, okxsim, agent):
    okxsim.set_price(BTC, "50000")
    with start_api(**VOL, STRATEGY_SCHEDULE_ENABLED="true", STRATEGY_SCHEDULE_INTERVAL_SECS="600") as api:
        wait_leader(api)
        _finished(api, 2)  # start-up: no stored baseline → one initial run per instrument
        assert sorted((c.inst_id, c.source) for c in agent.snapshot()) == [(BTC, "volatility"), (ETH, "volatility")]
        before = api.instrument(BTC)
        assert before["lastTriggerPrice"] == "50000"
        deadline_before = _epoch(before["nextScheduledAt"])

        okxsim.set_price(BTC, "50395")  # 79 bps: below the threshold
        wait_price(api, BTC, "50395")
        time.sleep(QUIET_SECS)
        assert len(agent.snapshot()) == 2
        assert api.instrument(BTC)["lastTriggerPrice"] == "50000"
        assert api.instrument(BTC)["deviationBps"] == 79.0

        okxsim.set_price(BTC, "50400")  # exactly 80 bps
        call = agent.wait_for_calls(3)[2]
        assert (call.inst_id, call.source) == (BTC, "volatility")
        assert call.trigger == {"price": "50400", "baseline": "50000", "deviationBps": 80.0}
        runs = _finished(api, 2, BTC)
        time.sleep(QUIET_SECS)
        assert len(agent.snapshot()) == 3, "one crossing, one run"
        run = runs[0]
        assert (run["source"], run["status"], run["triggerPrice"], run["baselinePrice"], run["deviationBps"]) == (
            "volatility",
            "succeeded",
            "50400",
            "50000",
            80.0,
        )
        after = api.instrument(BTC)
        assert after["lastTriggerPrice"] == "50400" and after["lastSource"] == "volatility"
        deadline_after = _epoch(after["nextScheduledAt"])
        assert deadline_after > deadline_before
        assert abs(deadline_after - (_epoch(run["finishedAt"]) + 600)) < 1.0  # now + interval after the run
        assert api.instrument(ETH)["lastTriggerPrice"] == "3200"  # untouched
        chat = api.get("/api/model/strategy-chat", instId=BTC)
        assert chat[0]["runId"] == run["id"] and chat[0]["content"] == run["summary"]
        log = api.log_text()
        assert (
            f"strategy run {run['id']} {BTC} source=volatility trigger_price=50400 baseline=50000 deviation=0.8000% result=succeeded"
            in log
        )


def test_move_during_a_running_analysis_is_served_after_it_once(start_api, okxsim, agent):
    okxsim.set_price(BTC, "50000")
    with start_api(**VOL) as api:
        wait_leader(api)
        _finished(api, 2)
        agent.hold()
        okxsim.set_price(BTC, "50500")  # +100 bps → run A, held by the agent
        first = agent.wait_for_calls(3)[2]
        assert first.trigger["price"] == "50500"
        okxsim.set_price(BTC, "51000")  # +99 bps from the running trigger price → one follow-up waits
        wait_until(lambda: api.instrument(BTC)["queued"], what="follow-up queued")
        okxsim.set_price(BTC, "51100")  # merges into the waiting follow-up (newest price wins)
        wait_price(api, BTC, "51100")
        status = api.status()
        assert status["running"] and status["pending"] == 1
        time.sleep(QUIET_SECS)
        assert len(agent.snapshot()) == 3, "the follow-up waits for the running analysis"
        agent.release()
        calls = agent.wait_for_calls(4)
        _finished(api, 4)
        time.sleep(QUIET_SECS)
        calls = agent.snapshot()
        assert len(calls) == 4, "served once, not lost, not doubled"
        follow_up = calls[3]
        assert (follow_up.inst_id, follow_up.source) == (BTC, "volatility")
        assert follow_up.trigger == {
            "price": "51100",
            "baseline": "50500",
            "deviationBps": follow_up.trigger["deviationBps"],
        }
        assert agent.concurrent_violations == 0
        assert api.instrument(BTC)["lastTriggerPrice"] == "51100"


def test_failures_end_the_wait_move_the_baseline_and_pause_automation(start_api, okxsim, agent):
    agent.set_mode("analysis_error")
    okxsim.set_price(BTC, "50000")
    with start_api(**VOL, AGENT_TIMEOUT_SECS="3", STRATEGY_MAX_CONSECUTIVE_FAILURES="3") as api:
        wait_leader(api)
        runs = _finished(api, 2)
        for run in runs:
            assert run["status"] == "failed" and run["error"] == "analysis_error: model unavailable (stand-in)"
            assert run["durationMs"] < 1000, "an analysis_error ends the wait at once (timeout is 3 s)"
        assert api.instrument(BTC)["lastTriggerPrice"] == "50000", "the baseline moves after a failure too"
        assert api.status()["consecutiveFailures"] == 2 and not api.status()["paused"]

        agent.set_mode("http500")
        okxsim.set_price(BTC, "50500")
        runs = _finished(api, 3)
        assert runs[0]["status"] == "failed" and "HTTP 500" in runs[0]["error"]
        assert runs[0]["durationMs"] < 1000
        assert api.instrument(BTC)["lastTriggerPrice"] == "50500"
        status = wait_until(lambda: (s := api.status())["paused"] and s, what="self-pause")
        assert status["pausedBy"] == "system" and "3 consecutive failed runs" in status["pausedReason"]

        okxsim.set_price(BTC, "52000")  # automation paused: no volatility run
        wait_price(api, BTC, "52000")
        time.sleep(QUIET_SECS)
        assert len(agent.snapshot()) == 3

        agent.set_mode("result", delay_secs=5.0)  # slower than AGENT_TIMEOUT_SECS=3
        started = time.monotonic()
        [run_id] = api.manual_run(BTC)  # manual runs are still allowed while paused
        run = wait_until(lambda: (r := api.get(f"/api/model/strategy-runs/{run_id}"))["status"] == "failed" and r, 8)
        assert "did not answer within 3 s" in run["error"] and time.monotonic() - started < 4.5
        assert run["source"] == "manual"

        agent.set_mode("result", delay_secs=0.0)
        resp = api.client.post("/api/scheduler/resume")
        assert resp.status_code == 200 and not resp.json()["paused"] and resp.json()["consecutiveFailures"] == 0
        # Resumed; the baseline is the failed manual run's trigger price (52000), so +192 bps runs again.
        okxsim.set_price(BTC, "53000")
        runs = _finished(api, 4, BTC)
        assert runs[0]["source"] == "volatility" and runs[0]["status"] == "succeeded"
        resp = api.client.post("/api/scheduler/pause", json={"reason": "maintenance"})
        assert (
            resp.status_code == 200
            and resp.json()["pausedReason"] == "maintenance"
            and resp.json()["pausedBy"] == "user"
        )
        assert api.client.post("/api/scheduler/pause", json={"reason": 5}).json()["field"] == "reason"


def test_defaults_only_manual_runs_serialised_and_bad_input_named(start_api, okxsim, agent):
    okxsim.set_price(BTC, "50000")
    events: list[str] = []
    with start_api() as api:  # no STRATEGY_* variables: manual runs only, as before
        wait_leader(api)
        stop_stream = threading.Event()

        def read_stream() -> None:
            with httpx.Client(base_url=api.base, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=None) as c:
                with c.stream("GET", "/api/stream") as resp:
                    for line in resp.iter_lines():
                        if line.startswith("event: ") and line[7:] != "ticker":
                            events.append(line[7:])
                        if stop_stream.is_set():
                            return

        reader = threading.Thread(target=read_stream, daemon=True)
        reader.start()
        okxsim.set_price(BTC, "55000")  # +10 %: volatility is off by default
        wait_price(api, BTC, "55000")
        time.sleep(QUIET_SECS)
        assert agent.snapshot() == [] and api.runs() == []
        status = api.status()
        assert not status["volTriggerEnabled"] and not status["scheduleEnabled"]
        assert all(i["nextScheduledAt"] is None for i in status["instruments"])

        agent.hold()
        [a] = api.manual_run(BTC)
        agent.wait_for_calls(1)
        [b] = api.manual_run(ETH)
        [c] = api.manual_run(BTC)
        [d] = api.manual_run(BTC)  # merges with the BTC request already waiting
        both = api.manual_run()  # all instruments: both merge with the waiting ones
        assert c == d and both == [c, b]
        assert len({a, b, c}) == 3
        queued = api.get(f"/api/model/strategy-runs/{c}")
        assert queued["status"] == "queued" and queued["source"] == "manual"
        time.sleep(QUIET_SECS)
        assert len(agent.snapshot()) == 1
        agent.release()
        _finished(api, 3)
        time.sleep(QUIET_SECS)
        calls = agent.snapshot()
        assert [call.run_id for call in calls] == [a, b, c], "oldest waiting request first"
        assert agent.max_concurrent == 1 and agent.concurrent_violations == 0
        wait_until(
            lambda: events.count("run") >= 6 and "trigger" in events and "scheduler" in events, what="SSE events"
        )
        stop_stream.set()
        okxsim.set_price(BTC, "55001")  # wakes the reader so it can stop

        bad = [
            (api.client.post("/api/model/strategy-run", json={"instId": "SOL-USDT-SWAP"}), "instId", 400),
            (api.client.post("/api/model/strategy-run", json={"instId": "not an id"}), "instId", 400),
            (api.client.post("/api/model/strategy-run", json={"instId": 7}), "instId", 400),
            (api.client.post("/api/model/strategy-run", content=b"{oops"), "body", 400),
            (api.client.get("/api/model/strategy-runs", params={"limit": 0}), "limit", 400),
            (api.client.get("/api/model/strategy-runs", params={"limit": 501}), "limit", 400),
            (api.client.get("/api/model/strategy-runs", params={"limit": "abc"}), "limit", 400),
            (api.client.get("/api/model/strategy-chat", params={"instId": "x"}), "instId", 400),
            (api.client.get("/api/model/strategy-runs/nope"), "id", 404),
        ]
        for resp, field, code in bad:
            assert resp.status_code == code, (field, resp.status_code, resp.text)
            assert resp.json()["field"] == field, resp.text
            assert field in resp.json()["detail"] or code == 404
        assert httpx.get(api.base + "/api/scheduler/status").status_code == 401
        assert len(api.runs(limit=2)) == 2 and api.runs(BTC)[0]["id"] == c


def test_restart_keeps_baseline_and_deadline(start_api, okxsim, agent):
    okxsim.set_price(BTC, "50000")
    env = {**VOL, "STRATEGY_SCHEDULE_ENABLED": "true", "STRATEGY_SCHEDULE_INTERVAL_SECS": "600"}
    with start_api(**env) as api:
        wait_leader(api)
        _finished(api, 2)
        before = {i["instId"]: i for i in api.status()["instruments"]}
    okxsim.set_price(BTC, "50300")  # +60 bps while down: no run after restart
    okxsim.set_price(ETH, "3300")  # +312 bps while down: a run on the first tick
    with start_api(**env) as api:
        wait_leader(api)
        call = agent.wait_for_calls(3)[2]
        assert (call.inst_id, call.source) == (ETH, "volatility")
        assert call.trigger["baseline"] == "3200" and call.trigger["price"] == "3300"
        _finished(api, 3)
        time.sleep(QUIET_SECS)
        assert len(agent.snapshot()) == 3, "no start-up run for instruments whose baseline was restored"
        btc = api.instrument(BTC)
        assert btc["lastTriggerPrice"] == "50000" and btc["nextScheduledAt"] == before[BTC]["nextScheduledAt"]
        assert btc["lastRunId"] == before[BTC]["lastRunId"] and btc["price"] == "50300"
        assert api.instrument(ETH)["lastTriggerPrice"] == "3300"
        assert "scheduler state BTC-USDT-SWAP restored" in api.log_text()


def test_two_processes_one_scheduler_and_takeover_without_losing_manual_requests(start_api, okxsim, agent):
    okxsim.set_price(BTC, "50000")
    with start_api(**VOL) as first, start_api(**VOL) as second:
        leader, other = (
            (first, second)
            if wait_until(lambda: first.status()["isLeader"] or second.status()["isLeader"])
            and first.status()["isLeader"]
            else (second, first)
        )
        _finished(leader, 2)
        status = other.status()
        assert not status["isLeader"] and status["leaderId"] == leader.status()["leaderId"]
        assert status["instruments"][0]["lastTriggerPrice"] == "50000"  # read from the shared database

        okxsim.set_price(BTC, "50500")  # both processes see the tick; only the leader decides
        _finished(leader, 3)
        time.sleep(QUIET_SECS)
        assert len(agent.snapshot()) == 3, "one scheduler, one run"

        resp = other.client.post("/api/scheduler/pause", json={"reason": "from the other process"})
        assert resp.status_code == 200 and resp.json()["paused"]
        wait_until(lambda: leader.status()["paused"], 5, what="pause reaches the leader")
        assert other.client.post("/api/scheduler/resume").status_code == 200
        wait_until(lambda: not leader.status()["paused"], 5, what="resume reaches the leader")

        [via_other] = other.manual_run(BTC)  # recorded in the database, run by the leader
        assert other.get(f"/api/model/strategy-runs/{via_other}")["status"] in ("queued", "running", "succeeded")
        wait_until(lambda: other.get(f"/api/model/strategy-runs/{via_other}")["status"] == "succeeded", 5)
        assert agent.snapshot()[-1].run_id == via_other

        agent.hold()
        [held] = other.manual_run(ETH)
        agent.wait_for_calls(5)
        [waiting] = other.manual_run(BTC)  # waits in the leader behind the held run
        wait_until(lambda: leader.instrument(BTC)["queuedRunId"] == waiting, 5, what="request taken on by the leader")
        killed_at = time.monotonic()
        os.killpg(leader.proc.pid, signal.SIGKILL)
        leader.proc.wait(5)
        agent.release()
        wait_leader(other, 10)
        took_over = time.monotonic() - killed_at
        assert took_over < 10, f"takeover took {took_over:.1f}s"
        wait_until(lambda: other.get(f"/api/model/strategy-runs/{waiting}")["status"] == "succeeded", 5)
        interrupted = other.get(f"/api/model/strategy-runs/{held}")
        assert interrupted["status"] == "failed" and "interrupted" in interrupted["error"]
        assert [c.run_id for c in agent.snapshot()][-2:] == [held, waiting]
        assert "now runs the strategy scheduler" in other.log_text()
