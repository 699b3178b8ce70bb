"""A run's record keeps what the agent reported (COMMON interface 3): the structured decision, the provider
and model of a run, and the tool calls and orders of a FAILED run, stored and returned by
GET /api/model/strategy-runs. Real API process, real simulator, stand-in agent on a socket."""

from __future__ import annotations

from tests.api_server.scheduler.conftest import BTC, wait_leader, wait_until

DECISION = {
    "action": "open_long",
    "size": "0.5",
    "entry": "50000",
    "stop": "49000",
    "target": "52000",
    "invalidation": "a close below 49000",
    "confidence": 64,
    "reason": "breakout with volume",
}


def _finished_run(api, run_id: str) -> dict:
    return wait_until(
        lambda: (r := api.get(f"/api/model/strategy-runs/{run_id}"))["status"] in ("succeeded", "failed") and r,
        15,
        what=f"run {run_id} finished",
    )


def test_decision_provider_model_and_a_failed_runs_work_are_recorded(start_api, okxsim, agent):
    okxsim.set_price(BTC, "50000")
    agent.decision = dict(DECISION)
    with start_api() as api:
        wait_leader(api)
        [ok_id] = api.manual_run(BTC)
        ok = _finished_run(api, ok_id)
        assert ok["status"] == "succeeded"
        assert ok["decision"] == {**DECISION, "instId": BTC}
        assert (ok["provider"], ok["model"]) == ("offline", "stand-in")

        # A malformed decision loses only itself: the run and its summary are kept.
        agent.decision = {**DECISION, "action": "buy_everything"}
        [bad_id] = api.manual_run(BTC)
        bad = _finished_run(api, bad_id)
        assert bad["status"] == "succeeded" and bad["decision"] is None and bad["summary"]

        # A failed run keeps what it did before it failed.
        agent.failed_calls = [
            {"name": "get_ticker", "arguments": {"instId": BTC}, "ok": True},
            {"name": "place_order", "arguments": {"instId": BTC, "side": "buy"}, "ok": True},
        ]
        agent.failed_orders = [
            {"tool": "place_order", "status": "placed", "instId": BTC, "side": "buy", "clOrdId": "abc123", "sz": "0.5"}
        ]
        agent.failed_reason = "llm_error"
        agent.set_mode("analysis_error")
        [failed_id] = api.manual_run(BTC)
        failed = _finished_run(api, failed_id)
        assert (
            failed["status"] == "failed"
            and failed["error"] == "analysis_error: model unavailable (stand-in) (reason: llm_error)"
        )
        assert [c["name"] for c in failed["toolCalls"]] == ["get_ticker", "place_order"]
        assert [(o["tool"], o["clOrdId"], o["status"]) for o in failed["orders"]] == [
            ("place_order", "abc123", "placed")
        ]
        assert (failed["provider"], failed["model"]) == ("offline", "stand-in") and failed["decision"] is None

        listed = {r["id"]: r for r in api.runs()}
        assert listed[ok_id]["decision"]["action"] == "open_long"
        assert listed[failed_id]["orders"][0]["clOrdId"] == "abc123"

        # Filters and keyset paging over the same runs.
        ids = lambda **q: [r["id"] for r in api.get("/api/model/strategy-runs", **q)]  # noqa: E731
        assert ids(status="failed") == [failed_id]
        assert ids(action="open_long") == [ok_id]
        assert ids(source="manual", instId=BTC) == [failed_id, bad_id, ok_id]
        assert ids(source="volatility") == []
        assert ids(limit=1) == [failed_id]
        assert ids(limit=1, before=failed_id) == [bad_id]
        assert ids(limit=2, before=bad_id) == [ok_id]
        assert ids(status="succeeded", before=failed_id) == [bad_id, ok_id]
        for name, value in (("status", "done"), ("source", "cron"), ("action", "buy"), ("before", "not a run id!")):
            resp = api.client.get("/api/model/strategy-runs", params={name: value})
            assert resp.status_code == 400 and resp.json()["field"] == name, (name, resp.text)
