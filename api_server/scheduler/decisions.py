"""Pure decisions of the strategy trigger scheduler: when an instrument's analysis should run.

No I/O, no asyncio, no clock of its own: every function takes the state, the price and `now`
(seconds since the Unix epoch, a float) and returns a new state plus, when something happened,
a `Decision` to log and publish. The async loop, the trigger replay and the tests all drive
these same functions, so what the replay counts is what the service does.

How the pieces fit (the loop in `loop.py` owns I/O; this module owns every rule):

* Every trigger (volatility, schedule, manual) first becomes a *waiting* trigger in
  `SymbolState.pending`. One analysis runs at a time across all instruments, so triggers wait
  for the permit instead of being skipped; several waiting triggers of one instrument collapse
  into one (`merge_pending`).
* When the permit is free the loop asks `next_to_run(states, cfg)` which instrument goes next,
  calls `on_run_started`, runs the analysis, then calls `on_run_finished` on every outcome.
* `next_wakeup(states, now, cfg)` tells the loop how long it may sleep; whenever a state changes
  the loop is woken and asks again, so it never oversleeps nor busy-waits.

Urgency of sources when waiting triggers merge or tie: manual > volatility > schedule. A person
waiting for an answer beats a market move, and a market move beats the backstop timer.

Price comparisons are exact: Δ ≥ threshold is tested as |p − b| · 10000 ≥ threshold · b in a
high-precision context, never through a rounded division, so exactly 80 bps triggers and
79.99 bps does not.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

import msgspec

if TYPE_CHECKING:  # the settings type only: the pure decisions never import the API at run time
    from api_server.settings import Settings

Source = Literal["volatility", "schedule", "manual"]
Reason = Literal["threshold", "no_baseline", "startup", "deadline", "manual"]

SOURCES: tuple[Source, ...] = ("volatility", "schedule", "manual")
URGENCY: dict[str, int] = {"schedule": 0, "volatility": 1, "manual": 2}
"""Higher is more urgent: manual > volatility > schedule."""

_BPS = Decimal(10000)
# Enough digits that products and differences of real prices and thresholds are never rounded.
_EXACT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN, traps=[decimal.InvalidOperation])


class TriggerConfig(msgspec.Struct, frozen=True, kw_only=True):
    """What the scheduler is allowed to do. Defaults match the service's defaults: no volatility
    trigger, no timer, manual runs only (the timer follows `STRATEGY_SCHEDULE_ENABLED`).

    `automation_paused` is the runtime kill switch: the loop swaps in
    `msgspec.structs.replace(cfg, automation_paused=True)` on pause and back on resume. While it is
    set no automated trigger is raised or started; manual runs still are.
    """

    vol_enabled: bool = False
    threshold_bps: Decimal = Decimal(80)
    schedule_enabled: bool = False
    interval_secs: float = 60.0
    window_secs: float | None = None
    refresh_baseline_on_failure: bool = True
    automation_paused: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.threshold_bps, Decimal) or not self.threshold_bps.is_finite() or self.threshold_bps <= 0:
            raise ValueError(f"threshold_bps must be a positive finite Decimal, got {self.threshold_bps!r}")
        if not self.interval_secs > 0:
            raise ValueError(f"interval_secs must be positive, got {self.interval_secs!r}")
        if self.window_secs is not None and not self.window_secs >= 0:
            raise ValueError(f"window_secs must not be negative, got {self.window_secs!r}")


def config_from_settings(settings: Settings) -> TriggerConfig:
    """Build the config from `api_server.settings.Settings` (threshold float → exact Decimal)."""
    window = settings.strategy_vol_window_secs
    return TriggerConfig(
        vol_enabled=settings.strategy_vol_trigger_enabled,
        threshold_bps=Decimal(str(settings.strategy_vol_threshold_bps)),
        schedule_enabled=settings.strategy_schedule_enabled,
        interval_secs=float(settings.strategy_schedule_interval_secs),
        window_secs=None if window is None else float(window),
    )


class PendingTrigger(msgspec.Struct, frozen=True, kw_only=True):
    """A trigger waiting for the analysis permit (or for its own instrument's run to end).

    `price` is the price when the trigger arose (None if no price was known then); `queued_at`
    is when the first of the merged triggers arose (its place in the queue); `run_id` lets the
    API answer a manual request at once: merged requests share the one run.
    """

    source: Source
    price: Decimal | None
    queued_at: float
    run_id: str | None = None


class SymbolState(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the scheduler knows about one instrument; persisted on every change.

    `running_*` describe this instrument's run in progress (`running_source is None` ⇔ no run).
    `vol_cooldown_until`: volatility triggers are suppressed before this time (window).
    Encode with `msgspec.json.encode(state)`, decode with `msgspec.json.decode(b, type=SymbolState)`.
    """

    last_trigger_price: Decimal | None = None
    last_trigger_at: float | None = None
    next_scheduled_at: float | None = None
    last_source: Source | None = None
    running_source: Source | None = None
    running_trigger_price: Decimal | None = None
    running_triggered_at: float | None = None
    pending: PendingTrigger | None = None
    vol_cooldown_until: float | None = None


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """A trigger was raised (or merged into a waiting one): log it, publish it, wake the loop.

    `follow_up`: queued behind this instrument's own run in progress.
    `coalesced`: merged into a trigger that was already waiting (no extra run).
    `baseline` / `deviation_bps`: what the price was measured against (None without a baseline).
    """

    source: Source
    reason: Reason
    price: Decimal | None
    baseline: Decimal | None
    deviation_bps: Decimal | None
    at: float
    follow_up: bool = False
    coalesced: bool = False


class RunStart(msgspec.Struct, frozen=True, kw_only=True):
    """Facts of a run at its start, for the run record (CONTRACT §6) and its log line."""

    source: Source
    trigger_price: Decimal | None
    baseline_price: Decimal | None
    deviation_bps: Decimal | None
    triggered_at: float
    started_at: float
    run_id: str | None


# --------------------------------------------------------------------------- small helpers


def deviation_bps(price: Decimal | None, baseline: Decimal | None) -> Decimal | None:
    """|price − baseline| / baseline in basis points, or None without a usable baseline/price.

    For display and records only; decisions use the exact comparison in `crosses_threshold`.
    """
    if price is None or baseline is None or baseline <= 0:
        return None
    return _EXACT.divide(_EXACT.multiply(_EXACT.subtract(price, baseline).copy_abs(), _BPS), baseline)


def crosses_threshold(price: Decimal, baseline: Decimal, threshold_bps: Decimal) -> bool:
    """Exactly Δ ≥ threshold, without division: |p − b| · 10000 ≥ threshold · b."""
    diff = _EXACT.subtract(price, baseline).copy_abs()
    return _EXACT.multiply(diff, _BPS) >= _EXACT.multiply(threshold_bps, baseline)


def is_more_urgent(a: Source, b: Source) -> bool:
    """True when source `a` outranks `b` (manual > volatility > schedule)."""
    return URGENCY[a] > URGENCY[b]


def merge_pending(older: PendingTrigger | None, newer: PendingTrigger) -> PendingTrigger:
    """Collapse two waiting triggers of one instrument into one.

    The most urgent source wins, the newest known price wins, the queue place (`queued_at`) of
    the older one is kept so merging never pushes an instrument to the back of the queue, and an
    existing run id is kept so every request merged into it is answered with the same run.
    """
    if older is None:
        return newer
    source = newer.source if URGENCY[newer.source] > URGENCY[older.source] else older.source
    price = newer.price if newer.price is not None else older.price
    return PendingTrigger(
        source=source,
        price=price,
        queued_at=min(older.queued_at, newer.queued_at),
        run_id=older.run_id if older.run_id is not None else newer.run_id,
    )


def _deadline_after(now: float, cfg: TriggerConfig, current: float | None) -> float | None:
    return now + cfg.interval_secs if cfg.schedule_enabled else current


def measuring_baseline(state: SymbolState) -> Decimal | None:
    """The price ticks are measured from: the running trigger price during this instrument's
    own run (when it had one), else the stored baseline."""
    if state.running_source is not None and state.running_trigger_price is not None:
        return state.running_trigger_price
    return state.last_trigger_price


def _queue(
    state: SymbolState,
    trigger: PendingTrigger,
    reason: Reason,
    baseline: Decimal | None,
    next_scheduled_at: float | None,
) -> tuple[SymbolState, Decision]:
    merged = merge_pending(state.pending, trigger)
    new_state = msgspec.structs.replace(state, pending=merged, next_scheduled_at=next_scheduled_at)
    decision = Decision(
        source=merged.source,
        reason=reason,
        price=trigger.price,
        baseline=baseline,
        deviation_bps=deviation_bps(trigger.price, baseline),
        at=trigger.queued_at,
        follow_up=state.running_source is not None,
        coalesced=state.pending is not None,
    )
    return new_state, decision


# --------------------------------------------------------------------------- events


def on_tick(state: SymbolState, price: Decimal, now: float, cfg: TriggerConfig) -> tuple[SymbolState, Decision | None]:
    """A new ticker price for this instrument.

    Raises a volatility trigger when Δ ≥ threshold, measured from the running trigger price if
    this instrument's run is in progress (the trigger then waits as its one follow-up), else from
    `last_trigger_price`. With no baseline at all (initial run never got a price) the first tick
    outside any run raises one, so the baseline gets set. A volatility trigger moves
    `next_scheduled_at` to now + interval.

    Nothing happens while: volatility is disabled or automation paused; `now` is inside the
    window (`vol_cooldown_until`); with a window configured, this instrument's own volatility run
    is in progress (the window starts when that run ends); or a trigger at least as urgent as a
    volatility one is already waiting (it will serve; the run is measured at the newest price
    when it starts). No-trigger path: returns the very same `state` object, allocates nothing.
    """
    if not cfg.vol_enabled or cfg.automation_paused:
        return state, None
    pending = state.pending
    if pending is not None and pending.source != "schedule":
        return state, None  # already waiting with equal or higher urgency
    cooldown = state.vol_cooldown_until
    if cooldown is not None and now < cooldown:
        return state, None
    running = state.running_source
    if running is not None:
        if running == "volatility" and cfg.window_secs is not None:
            return state, None
        baseline = state.running_trigger_price
        if baseline is None:
            baseline = state.last_trigger_price
    else:
        baseline = state.last_trigger_price
    if baseline is None:
        if running is not None:
            return state, None  # the finishing run leaves no baseline; the next tick after it retries
        reason: Reason = "no_baseline"
    else:
        diff = _EXACT.subtract(price, baseline).copy_abs()
        if _EXACT.multiply(diff, _BPS) < _EXACT.multiply(cfg.threshold_bps, baseline):
            return state, None
        reason = "threshold"
    trigger = PendingTrigger(source="volatility", price=price, queued_at=now)
    return _queue(state, trigger, reason, baseline, _deadline_after(now, cfg, state.next_scheduled_at))


def on_deadline(
    state: SymbolState, now: float, cfg: TriggerConfig, price: Decimal | None = None
) -> tuple[SymbolState, Decision | None]:
    """The clock reached (or passed) `next_scheduled_at`: raise a schedule trigger.

    `price` is the newest known price (None if the feed has none yet). Skipped while this
    instrument's own run is in progress (its end re-arms the deadline) or a trigger already
    waits (it will serve as this instrument's analysis). The deadline moves to now + interval.
    """
    deadline = state.next_scheduled_at
    if (
        not cfg.schedule_enabled
        or cfg.automation_paused
        or deadline is None
        or now < deadline
        or state.running_source is not None
        or state.pending is not None
    ):
        return state, None
    trigger = PendingTrigger(source="schedule", price=price, queued_at=now)
    return _queue(state, trigger, "deadline", state.last_trigger_price, now + cfg.interval_secs)


def on_manual(
    state: SymbolState, price: Decimal | None, now: float, run_id: str | None = None
) -> tuple[SymbolState, Decision]:
    """A person asked for a run (`POST /api/model/strategy-run`); allowed while automation is paused.

    Always produces a `Decision`. If a trigger already waits, they merge (manual wins) and the
    waiting trigger's `run_id`, when it has one, is the run the request is answered with
    (`new_state.pending.run_id`). Manual runs do not move the deadline (the timer keeps its
    fixed rhythm, as before).
    """
    trigger = PendingTrigger(source="manual", price=price, queued_at=now, run_id=run_id)
    return _queue(state, trigger, "manual", measuring_baseline(state), state.next_scheduled_at)


def on_startup(state: SymbolState, now: float, cfg: TriggerConfig) -> tuple[SymbolState, Decision | None]:
    """Bring a restored (or brand-new `SymbolState()`) state back to life.

    * A run that was in progress when the process died is closed as failed (bookkeeping as for
      any failed run); the caller marks its record failed if `state.running_source` was set.
    * A waiting trigger is kept (not lost across restarts).
    * Timer: schedule disabled → no deadline; no stored deadline → now + interval; a stored
      deadline already past → a schedule trigger at once.
    * Volatility enabled and no stored baseline → one initial volatility run (reason `startup`,
      price unknown: the run is measured at the newest price when it starts). A restored
      baseline is kept, so the first tick decides whether the market moved while we were down.
    """
    if state.running_source is not None:
        state = on_run_finished(state, now, False, cfg)
    if not cfg.schedule_enabled:
        if state.next_scheduled_at is not None:
            state = msgspec.structs.replace(state, next_scheduled_at=None)
    elif state.next_scheduled_at is None:
        state = msgspec.structs.replace(state, next_scheduled_at=now + cfg.interval_secs)
    if cfg.automation_paused:
        return state, None
    if cfg.vol_enabled and state.last_trigger_price is None and state.pending is None:
        trigger = PendingTrigger(source="volatility", price=None, queued_at=now)
        return _queue(state, trigger, "startup", None, _deadline_after(now, cfg, state.next_scheduled_at))
    return on_deadline(state, now, cfg)


def on_run_started(
    state: SymbolState,
    now: float,
    latest_price: Decimal | None = None,
    *,
    source: Source | None = None,
    run_id: str | None = None,
) -> tuple[SymbolState, RunStart]:
    """This instrument's analysis starts now (the caller holds the permit).

    Consumes the waiting trigger (or starts a direct run when `source` is given and none waits).
    Trigger price: `latest_price` (the newest ticker, i.e. the market the analysis will see;
    newest price wins) or, when the caller has none, the price the waiting trigger carried.
    None means no price is known: the run still happens but will not move the baseline.
    Raises ValueError if this instrument already has a run in progress or nothing to start.
    """
    if state.running_source is not None:
        raise ValueError("a run for this instrument is already in progress")
    pending = state.pending
    if pending is None:
        if source is None:
            raise ValueError("no waiting trigger and no source given")
        pending = PendingTrigger(source=source, price=None, queued_at=now, run_id=run_id)
    trigger_price = latest_price if latest_price is not None else pending.price
    baseline = state.last_trigger_price
    new_state = msgspec.structs.replace(
        state,
        pending=None,
        running_source=pending.source,
        running_trigger_price=trigger_price,
        running_triggered_at=pending.queued_at,
    )
    start = RunStart(
        source=pending.source,
        trigger_price=trigger_price,
        baseline_price=baseline,
        deviation_bps=deviation_bps(trigger_price, baseline),
        triggered_at=pending.queued_at,
        started_at=now,
        run_id=pending.run_id if pending.run_id is not None else run_id,
    )
    return new_state, start


def on_run_finished(state: SymbolState, now: float, ok: bool, cfg: TriggerConfig) -> SymbolState:
    """After-run bookkeeping, on every outcome (success, analysis_error, timeout, refused...).

    * Baseline := the run's trigger price (the price when it was triggered, not now), after
      success and after failure (unless `cfg.refresh_baseline_on_failure` is off). With no trigger
      price (feed not ready) the old baseline stays; the caller logs a warning.
    * `last_trigger_at` / `last_source` describe the run.
    * Volatility and schedule runs set `next_scheduled_at` to now + interval (the timer is a
      backstop after the last automated analysis); manual runs leave it.
    * After a volatility run with a window configured, volatility triggers wait `window_secs`.
    * A follow-up queued during the run stays in `pending` and runs next.
    """
    source = state.running_source
    if source is None:
        raise ValueError("no run in progress for this instrument")
    trigger_price = state.running_trigger_price
    baseline = state.last_trigger_price
    if trigger_price is not None and trigger_price > 0 and (ok or cfg.refresh_baseline_on_failure):
        baseline = trigger_price
    next_at = state.next_scheduled_at
    if source != "manual":
        next_at = _deadline_after(now, cfg, next_at)
    cooldown = state.vol_cooldown_until
    if source == "volatility" and cfg.window_secs is not None:
        cooldown = now + cfg.window_secs
    return msgspec.structs.replace(
        state,
        last_trigger_price=baseline,
        last_trigger_at=state.running_triggered_at,
        last_source=source,
        next_scheduled_at=next_at,
        running_source=None,
        running_trigger_price=None,
        running_triggered_at=None,
        vol_cooldown_until=cooldown,
    )


# --------------------------------------------------------------------------- across instruments


def next_to_run(states: Mapping[str, SymbolState], cfg: TriggerConfig) -> str | None:
    """Which waiting instrument should get the permit next (None: nobody waits).

    Oldest waiting trigger first (so an instrument whose deadline fell during another's analysis
    runs right after it instead of an interval later); ties go to the more urgent source, then
    instId. Instruments with their own run in progress are skipped; while automation is paused
    only manual triggers are eligible (automated ones keep waiting until resume).
    """
    best: str | None = None
    best_key: tuple[float, int, str] | None = None
    for inst_id, state in states.items():
        pending = state.pending
        if pending is None or state.running_source is not None:
            continue
        if cfg.automation_paused and pending.source != "manual":
            continue
        key = (pending.queued_at, -URGENCY[pending.source], inst_id)
        if best_key is None or key < best_key:
            best, best_key = inst_id, key
    return best


def next_wakeup(
    states: Mapping[str, SymbolState] | Iterable[SymbolState], now: float, cfg: TriggerConfig
) -> float | None:
    """The earliest moment `on_deadline` can raise a trigger (None: only ticks or a person can).

    A value ≤ `now` means a deadline is due now. Instruments with a run in progress or a trigger
    waiting are left out: they wait for the permit, not for the clock, and their deadline is
    re-armed when their run ends. The loop sleeps until this moment or until woken by a change.
    """
    if not cfg.schedule_enabled or cfg.automation_paused:
        return None
    values = states.values() if isinstance(states, Mapping) else states
    earliest: float | None = None
    for state in values:
        deadline = state.next_scheduled_at
        if deadline is None or state.running_source is not None or state.pending is not None:
            continue
        if earliest is None or deadline < earliest:
            earliest = deadline
    return earliest


def any_running(states: Mapping[str, SymbolState]) -> bool:
    """True while some instrument's analysis holds the permit."""
    return any(s.running_source is not None for s in states.values())
