"""GET /api/stream carries `approval` and `account` events with event ids, and a client reconnecting with
Last-Event-ID gets the events it missed. Real API process and simulator."""

from __future__ import annotations

import json
import threading

import httpx

from tests.api_server.account.conftest import API_TOKEN, INST, wait_until


class StreamReader:
    """Reads the SSE stream in a thread: (id, event, data) of every non-ticker message."""

    def __init__(self, api: str, last_event_id: str | None = None) -> None:
        self.messages: list[tuple[str | None, str, dict]] = []
        self.ticker_ids: list[str | None] = []
        self._stop = threading.Event()
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self._thread = threading.Thread(target=self._read, args=(api, headers), daemon=True)
        self._thread.start()

    def _read(self, api: str, headers: dict[str, str]) -> None:
        try:
            self._read_stream(api, headers)
        except httpx.HTTPError:  # the API stops at the end of the test while the stream is open
            if not self._stop.is_set():
                raise

    def _read_stream(self, api: str, headers: dict[str, str]) -> None:
        with httpx.Client(base_url=api, headers=headers, timeout=None) as client:
            with client.stream("GET", "/api/stream") as resp:
                event_id, event = None, None
                for line in resp.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("id:"):
                        event_id = line[3:].strip()
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event:
                        if event == "ticker":
                            self.ticker_ids.append(event_id)
                        else:
                            self.messages.append((event_id, event, json.loads(line[5:])))
                    elif line == "":
                        event_id, event = None, None

    def of(self, event: str) -> list[tuple[str | None, str, dict]]:
        return [m for m in self.messages if m[1] == event]

    def close(self) -> None:
        self._stop.set()


def test_approval_and_account_events_with_ids_and_replay(launch):
    s = launch(api_env={"TRADE_APPROVAL_MODE": "manual"})
    reader = StreamReader(s.api)
    wait_until(lambda: reader.ticker_ids, what="the stream is open")
    held = s.post(
        "/api/trade/order",
        {"instId": INST, "side": "buy", "ordType": "market", "sz": "0.1"},
        headers={"X-AiTrader-Origin": "agent:run:r9"},
    )
    assert held.status_code == 202, held.text
    approval_id = held.json()["approvalId"]
    pending = wait_until(lambda: reader.of("approval"), what="approval event")[0]
    assert (
        pending[2]["id"] == approval_id and pending[2]["status"] == "pending" and pending[2]["origin"] == "agent:run:r9"
    )
    assert s.post(f"/api/trade/approvals/{approval_id}/approve").status_code == 201
    decided = wait_until(
        lambda: [m for m in reader.of("approval") if m[2]["status"] == "approved"], what="approved event"
    )
    assert decided[0][2]["id"] == approval_id
    account = wait_until(
        lambda: [m for m in reader.of("account") if m[2].get("fillsInserted", 0) >= 1], what="account event of the fill"
    )
    assert account[0][2]["changes"] >= 1
    ids = [m[0] for m in reader.messages]
    assert all(ids) and len(set(ids)) == len(ids), ids
    reader.close()

    # Reconnecting with the first event's id replays every later non-ticker event, in order.
    first_id = reader.messages[0][0]
    later = [(m[0], m[1]) for m in reader.messages[1:]]
    again = StreamReader(s.api, last_event_id=first_id)
    wait_until(lambda: [(m[0], m[1]) for m in again.messages[: len(later)]] == later, what="replayed events")
    again.close()
    # An unknown id (another process, a restart) replays nothing.
    fresh = StreamReader(s.api, last_event_id="1-1")
    wait_until(lambda: fresh.ticker_ids, what="tickers on the fresh stream")
    assert not [m for m in fresh.messages if m[1] in ("approval", "account")]
    fresh.close()
