"""Which product events become alerts, and their text (pure: plain values and the clock in, alerts out).

Events come from the API's event hub as (name, payload) with JSON-like payloads:
- "approval" (an approval row; status "pending" → approval needed),
- "account" (a sync report: fillsInserted, closed positions with realised PnL),
- "fill" (one fill: instId, side, fillPx, fillSz, fee),
- "risk" (risk status; `dailyLoss.latched` turning true → daily-loss latch),
- "scheduler" (status; `paused` turning true → automation paused),
- "feed" ({"connected": bool}; down for FEED_DOWN_AFTER_SECS → feed down),
- "llm_budget" ({"spentUsd", "budgetUsd"} → budget reached).
`AlertRules` keeps the little state the transitions need (was it paused, since when is the feed down).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FEED_DOWN_AFTER_SECS = 60.0

ALERT_KINDS = (
    "fill",
    "position_closed",
    "daily_loss_latch",
    "approval_needed",
    "automation_paused",
    "feed_down",
    "llm_budget",
)


@dataclass(frozen=True)
class Alert:
    kind: str
    title: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    approval_id: int | None = None  # set when the alert can be answered (approve / reject)


def _get(payload: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(key)
    return payload


def _fmt(value: Any, unit: str = "") -> str:
    if value is None or value == "":
        return "—"
    return f"{value} {unit}".strip()


def approval_alert(payload: dict[str, Any]) -> Alert | None:
    if payload.get("status") != "pending" or not isinstance(payload.get("id"), int):
        return None
    request = payload.get("request") or {}
    inst = payload.get("instId", request.get("instId", "?"))
    kind = payload.get("kind", "order")
    lines = [f"{kind} {inst}"]
    if kind == "order":
        size = request.get("sz") or (f"{request['notionalUsdt']} USDT" if request.get("notionalUsdt") else None)
        lines.append(f"{request.get('side', '?')} {request.get('ordType', '')} size {_fmt(size)}")
        lines.append(f"price {_fmt(request.get('px') or 'market')} · leverage {_fmt(request.get('leverage'))}x")
        lines.append(f"TP {_fmt(request.get('tpTriggerPx'))} · SL {_fmt(request.get('slTriggerPx'))}")
    origin = payload.get("origin") or (f"agent:run:{payload['runId']}" if payload.get("runId") else "manual")
    lines.append(f"origin {origin}")
    if payload.get("reason"):
        lines.append(f"reason: {payload['reason']}")
    return Alert("approval_needed", "Approval needed", "\n".join(lines), data=payload, approval_id=payload["id"])


def fill_alert(payload: dict[str, Any]) -> Alert:
    inst = payload.get("instId", "?")
    text = (
        f"{inst} {payload.get('side', '?')} {_fmt(payload.get('fillSz'), 'contracts')} at "
        f"{_fmt(payload.get('fillPx'))} · fee {_fmt(payload.get('fee'))} {payload.get('feeCcy', 'USDT')}"
    )
    return Alert("fill", "Order filled", text, data=payload)


def closed_alerts(report: dict[str, Any]) -> list[Alert]:
    alerts = []
    for pos in report.get("closed") or []:
        if not isinstance(pos, dict):
            continue
        pnl = pos.get("realizedPnl", pos.get("pnl"))
        text = f"{pos.get('instId', '?')} {pos.get('posSide', '')} closed · realised PnL {_fmt(pnl, 'USDT')}".replace(
            "  ", " "
        )
        alerts.append(Alert("position_closed", "Position closed", text, data=pos))
    return alerts


class AlertRules:
    """Turns events into alerts; remembers transitions so a state is announced once, not on every status."""

    def __init__(self, feed_down_after_secs: float = FEED_DOWN_AFTER_SECS) -> None:
        self.feed_down_after_secs = feed_down_after_secs
        self._paused = False
        self._latched = False
        self._feed_down_since: float | None = None
        self._feed_down_announced = False
        self._budget_announced_for: str | None = None

    def on_event(self, event: str, payload: Any, now: float) -> list[Alert]:
        if not isinstance(payload, dict):
            return []
        if event == "approval":
            alert = approval_alert(payload)
            return [alert] if alert else []
        if event == "fill":
            return [fill_alert(payload)]
        if event == "account":
            alerts = []
            fills = payload.get("fillsInserted") or 0
            if isinstance(fills, int) and fills > 0 and not payload.get("fills"):
                alerts.append(Alert("fill", "Orders filled", f"{fills} new fill(s) recorded", data={"count": fills}))
            for fill in payload.get("fills") or []:
                if isinstance(fill, dict):
                    alerts.append(fill_alert(fill))
            return alerts + closed_alerts(payload)
        if event == "risk":
            latched = bool(_get(payload, "dailyLoss", "latched"))
            was, self._latched = self._latched, latched
            if latched and not was:
                loss = _get(payload, "dailyLoss", "lossPct")
                return [
                    Alert(
                        "daily_loss_latch",
                        "Daily loss limit reached",
                        f"New orders are refused until 00:00 UTC or a reset (loss {_fmt(loss, '%')})",
                        data=payload,
                    )
                ]
            return []
        if event == "scheduler":
            paused = bool(payload.get("paused"))
            was, self._paused = self._paused, paused
            if paused and not was:
                why = payload.get("pausedReason") or "paused"
                return [
                    Alert(
                        "automation_paused",
                        "Automation paused",
                        f"{why} (by {payload.get('pausedBy') or 'system'})",
                        data={"reason": why},
                    )
                ]
            return []
        if event == "feed":
            if payload.get("connected"):
                self._feed_down_since, self._feed_down_announced = None, False
            elif self._feed_down_since is None:
                self._feed_down_since = now
            return self.tick(now)
        if event == "llm_budget":
            day = str(payload.get("day", ""))
            if self._budget_announced_for == day:
                return []
            self._budget_announced_for = day
            spent = (
                f"spent {_fmt(payload.get('spentUsd'), 'USD')} of {_fmt(payload.get('budgetUsd'), 'USD')} today; "
                if payload.get("budgetUsd") is not None
                else ""
            )
            return [
                Alert(
                    "llm_budget",
                    "LLM budget reached",
                    f"{spent}analyses and chat stop until 00:00 UTC (LLM_DAILY_BUDGET_USD)",
                    data=payload,
                )
            ]
        return []

    def tick(self, now: float) -> list[Alert]:
        """Called periodically: the feed-down alert fires only once the feed has been down long enough."""
        since = self._feed_down_since
        if since is None or self._feed_down_announced or now - since < self.feed_down_after_secs:
            return []
        self._feed_down_announced = True
        return [
            Alert(
                "feed_down", "OKX feed down", f"no market data for {int(now - since)} s", data={"downSecs": now - since}
            )
        ]
