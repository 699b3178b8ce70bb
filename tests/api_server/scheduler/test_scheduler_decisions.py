"""Pure trigger decisions: threshold boundary, baseline semantics, window, coalescing, deadlines,
start-up, one analysis at a time. The clock is injected (plain floats); no I/O."""

from __future__ import annotations

import decimal
from decimal import Decimal as D
from fractions import Fraction

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_server.scheduler.decisions import (
    URGENCY,
    PendingTrigger,
    SymbolState,
    TriggerConfig,
    config_from_settings,
    crosses_threshold,
    deviation_bps,
    merge_pending,
    next_to_run,
    next_wakeup,
    on_deadline,
    on_manual,
    on_run_finished,
    on_run_started,
    on_startup,
    on_tick,
)
from api_server.settings import load_settings

VOL = TriggerConfig(vol_enabled=True, threshold_bps=D(80), schedule_enabled=True, interval_secs=900)
VOL_ONLY = TriggerConfig(vol_enabled=True, threshold_bps=D(80))
T0 = 1_700_000_000.0


def settled(price: str, at: float = T0, cfg: TriggerConfig = VOL) -> SymbolState:
    """A state whose last run was triggered at `price` and has finished at `at`."""
    state = SymbolState(next_scheduled_at=at + cfg.interval_secs if cfg.schedule_enabled else None)
    state, _ = on_manual(state, D(price), at)
    state, _ = on_run_started(state, at)
    return on_run_finished(state, at, True, cfg)


def run_once(
    state: SymbolState, now: float, latest: D | None, cfg: TriggerConfig, ok: bool = True, duration: float = 0.0
) -> SymbolState:
    state, _ = on_run_started(state, now, latest)
    return on_run_finished(state, now + duration, ok, cfg)


# --------------------------------------------------------------------------- threshold boundary


@pytest.mark.parametrize(
    ("price", "fires"),
    [("100.80", True), ("100.7999", False), ("99.20", True), ("99.2001", False), ("100.81", True), ("100", False)],
)
def test_exactly_80_bps_triggers_and_79_99_does_not(price, fires):
    state = settled("100")
    new_state, decision = on_tick(state, D(price), T0 + 1, VOL)
    assert (decision is not None) is fires
    if fires:
        assert decision.source == "volatility" and decision.reason == "threshold"
        assert decision.baseline == D("100") and decision.deviation_bps >= 80
        assert new_state.pending.price == D(price)
    else:
        assert new_state is state


def test_boundary_is_exact_for_awkward_prices():
    baseline = D("0.00162008")
    exact = baseline + baseline * D(80) / D(10000)  # 0.0016330406400, representable exactly
    assert crosses_threshold(exact, baseline, D(80))
    assert not crosses_threshold(exact - D("1e-13"), baseline, D(80))
    assert deviation_bps(exact, baseline) == D(80)
    assert deviation_bps(D("100.7999"), D("100")) == D("79.99")


@settings(max_examples=300, deadline=None)
@given(
    baseline=st.decimals(min_value=D("0.00000001"), max_value=D("1000000"), places=8),
    threshold=st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2),
    up=st.booleans(),
)
def test_exact_crossing_fires_and_one_unit_less_does_not(baseline, threshold, up):
    with decimal.localcontext(decimal.Context(prec=100)):
        step = baseline * threshold / D(10000)
        exact = baseline + step if up else baseline - step
        inside = exact - D("1e-30") if up else exact + D("1e-30")
    if exact <= 0:
        return
    assert crosses_threshold(exact, baseline, threshold)
    assert not crosses_threshold(inside, baseline, threshold)


@settings(max_examples=300, deadline=None)
@given(
    price=st.decimals(min_value=D("0.0001"), max_value=D("100000"), places=4),
    baseline=st.decimals(min_value=D("0.0001"), max_value=D("100000"), places=4),
    threshold=st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2),
)
def test_crossing_matches_exact_rational_arithmetic(price, baseline, threshold):
    exact = abs(Fraction(price) - Fraction(baseline)) / Fraction(baseline) * 10000
    assert crosses_threshold(price, baseline, threshold) is (exact >= Fraction(threshold))
    assert Fraction(deviation_bps(price, baseline)) == pytest.approx(exact, rel=1e-20)


def test_deviation_without_baseline_is_none():
    assert deviation_bps(D("1"), None) is None
    assert deviation_bps(None, D("1")) is None
    assert deviation_bps(D("1"), D("0")) is None


# --------------------------------------------------------------------------- baseline semantics


def test_baseline_is_trigger_price_not_finish_price():
    state = settled("100")
    state, decision = on_tick(state, D("101"), T0 + 10, VOL)
    assert decision is not None
    state, start = on_run_started(state, T0 + 10, D("101"))
    assert start.trigger_price == D("101") and start.baseline_price == D("100") and start.deviation_bps == D("100")
    state, _ = on_tick(state, D("101.5"), T0 + 20, VOL)  # the market moves on during the analysis
    state = on_run_finished(state, T0 + 40, True, VOL)
    assert state.last_trigger_price == D("101")
    assert state.last_trigger_at == T0 + 10 and state.last_source == "volatility"


def test_baseline_is_written_after_a_failed_run_too():
    state, _ = on_tick(settled("100"), D("99"), T0 + 5, VOL)
    state = run_once(state, T0 + 5, D("99"), VOL, ok=False, duration=300)
    assert state.last_trigger_price == D("99")
    assert state.next_scheduled_at == T0 + 305 + 900


def test_failure_can_keep_the_baseline_when_configured():
    cfg = msgspec.structs.replace(VOL, refresh_baseline_on_failure=False)
    state, _ = on_tick(settled("100", cfg=cfg), D("99"), T0 + 5, cfg)
    assert run_once(state, T0 + 5, D("99"), cfg, ok=False).last_trigger_price == D("100")
    state, _ = on_tick(settled("100", cfg=cfg), D("99"), T0 + 5, cfg)
    assert run_once(state, T0 + 5, D("99"), cfg, ok=True).last_trigger_price == D("99")


def test_no_price_keeps_old_baseline_and_next_tick_retries():
    state = settled("100")
    state, _ = on_manual(state, None, T0 + 1)
    state, start = on_run_started(state, T0 + 1, None)  # feed not ready
    assert start.trigger_price is None and start.deviation_bps is None
    state = on_run_finished(state, T0 + 2, True, VOL)
    assert state.last_trigger_price == D("100")

    fresh, decision = on_startup(SymbolState(), T0, VOL)
    assert decision.reason == "startup"
    fresh = run_once(fresh, T0, None, VOL)
    assert fresh.last_trigger_price is None
    fresh, decision = on_tick(fresh, D("50"), T0 + 3, VOL)
    assert decision.reason == "no_baseline" and fresh.pending.price == D("50")
    assert run_once(fresh, T0 + 3, D("50"), VOL).last_trigger_price == D("50")


def test_no_baseline_during_own_run_does_not_queue_a_second_run():
    state, _ = on_startup(SymbolState(), T0, VOL)
    state, _ = on_run_started(state, T0, None)
    after, decision = on_tick(state, D("50"), T0 + 1, VOL)
    assert decision is None and after is state


# --------------------------------------------------------------------------- follow-up during a run


def test_tick_during_own_run_is_measured_from_running_trigger_price_and_queues_one_follow_up():
    state, _ = on_tick(settled("100"), D("101"), T0 + 10, VOL)
    state, _ = on_run_started(state, T0 + 10, D("101"))
    # 150 bps from the old baseline, but 49.5 bps from the running trigger price: nothing.
    same, decision = on_tick(state, D("101.5"), T0 + 11, VOL)
    assert decision is None and same is state
    state, decision = on_tick(state, D("101.81"), T0 + 12, VOL)
    assert decision.follow_up and decision.baseline == D("101") and state.pending.source == "volatility"
    # further crossings while the follow-up waits are absorbed: still one follow-up, no new decision
    again, decision = on_tick(state, D("103"), T0 + 13, VOL)
    assert decision is None and again is state
    state = on_run_finished(state, T0 + 40, True, VOL)
    assert state.pending is not None and next_to_run({"X": state}, VOL) == "X"
    state, start = on_run_started(state, T0 + 40, D("102"))
    assert start.source == "volatility" and start.triggered_at == T0 + 12 and start.baseline_price == D("101")


def test_manual_during_own_run_waits_and_keeps_its_run_id():
    state, _ = on_manual(settled("100"), D("100"), T0 + 1, run_id="r1")
    state, start = on_run_started(state, T0 + 1, D("100"))
    assert start.run_id == "r1"
    state, decision = on_manual(state, D("100.1"), T0 + 2, run_id="r2")
    assert decision.follow_up and state.pending.run_id == "r2"
    state, decision = on_manual(state, D("100.2"), T0 + 3, run_id="r3")
    assert decision.coalesced and state.pending.run_id == "r2" and state.pending.price == D("100.2")
    with pytest.raises(ValueError):
        on_run_started(state, T0 + 4, D("1"))  # never two runs for one instrument


# --------------------------------------------------------------------------- window / cooldown


def test_window_suppresses_volatility_until_it_has_passed_after_the_run():
    cfg = msgspec.structs.replace(VOL, window_secs=600.0)
    state, _ = on_tick(settled("100", cfg=cfg), D("101"), T0 + 10, cfg)
    state, _ = on_run_started(state, T0 + 10, D("101"))
    same, decision = on_tick(state, D("110"), T0 + 20, cfg)  # own volatility run: window not yet started
    assert decision is None and same is state
    state = on_run_finished(state, T0 + 40, True, cfg)
    assert state.vol_cooldown_until == T0 + 640 and state.pending is None
    _, decision = on_tick(state, D("110"), T0 + 639.9, cfg)
    assert decision is None
    _, decision = on_tick(state, D("110"), T0 + 640, cfg)
    assert decision is not None and decision.baseline == D("101")
    _, decision = on_tick(state, D("101.5"), T0 + 700, cfg)  # a move that reverted does not fire
    assert decision is None


def test_window_does_not_hold_back_manual_or_schedule():
    cfg = msgspec.structs.replace(VOL, window_secs=10_000.0)
    state, _ = on_tick(settled("100", cfg=cfg), D("101"), T0 + 10, cfg)
    state = run_once(state, T0 + 10, D("101"), cfg)
    state, decision = on_manual(state, D("120"), T0 + 20)
    assert decision.source == "manual"
    state = run_once(state, T0 + 20, D("120"), cfg)
    state, decision = on_deadline(state, state.next_scheduled_at, cfg, D("120"))
    assert decision.source == "schedule"


def test_manual_and_schedule_runs_start_no_window():
    cfg = msgspec.structs.replace(VOL, window_secs=600.0)
    state, _ = on_manual(settled("100", cfg=cfg), D("100"), T0 + 1)
    state = run_once(state, T0 + 1, D("100"), cfg)
    assert state.vol_cooldown_until is None
    _, decision = on_tick(state, D("101"), T0 + 2, cfg)
    assert decision is not None


# --------------------------------------------------------------------------- deadlines


def test_volatility_trigger_moves_the_deadline_and_wakes_later():
    state = settled("100")
    assert state.next_scheduled_at == T0 + 900
    state, _ = on_tick(state, D("101"), T0 + 500, VOL)
    assert state.next_scheduled_at == T0 + 1400
    state = run_once(state, T0 + 500, D("101"), VOL, duration=30)
    assert state.next_scheduled_at == T0 + 530 + 900
    assert next_wakeup({"X": state}, T0 + 531, VOL) == T0 + 1430


def test_deadline_fires_at_not_before_and_moves_forward():
    state = settled("100")
    same, decision = on_deadline(state, T0 + 899.999, VOL, D("100"))
    assert decision is None and same is state
    state, decision = on_deadline(state, T0 + 900, VOL, D("100.1"))
    assert decision.source == "schedule" and decision.reason == "deadline"
    assert state.next_scheduled_at == T0 + 1800 and state.pending.price == D("100.1")
    again, decision = on_deadline(state, T0 + 1800, VOL)
    assert decision is None and again is state  # already waiting: one trigger
    state = run_once(state, T0 + 1900, D("100.1"), VOL, duration=10)
    assert state.next_scheduled_at == T0 + 1910 + 900 and state.last_source == "schedule"


def test_manual_run_leaves_the_deadline():
    state = settled("100")
    state, _ = on_manual(state, D("100"), T0 + 100)
    assert state.next_scheduled_at == T0 + 900
    assert run_once(state, T0 + 100, D("100"), VOL, duration=5).next_scheduled_at == T0 + 900


def test_deadline_during_own_run_is_not_doubled():
    state, _ = on_manual(settled("100"), D("100"), T0 + 890)
    state, _ = on_run_started(state, T0 + 890)
    assert next_wakeup({"X": state}, T0 + 950, VOL) is None
    same, decision = on_deadline(state, T0 + 950, VOL)
    assert decision is None and same is state
    state = on_run_finished(state, T0 + 1000, True, VOL)
    state, decision = on_deadline(state, T0 + 1000, VOL)  # manual left the deadline: due now
    assert decision.source == "schedule"


def test_schedule_upgrades_to_volatility_when_the_market_moves_while_waiting():
    state, _ = on_deadline(settled("100"), T0 + 900, VOL, D("100"))
    state, decision = on_tick(state, D("101"), T0 + 901, VOL)
    assert decision.coalesced and decision.source == "volatility"
    assert state.pending.source == "volatility" and state.pending.queued_at == T0 + 900
    assert state.pending.price == D("101") and state.next_scheduled_at == T0 + 901 + 900


# --------------------------------------------------------------------------- coalescing and the queue


def test_merge_pending_most_urgent_source_newest_price_oldest_place():
    sched = PendingTrigger(source="schedule", price=D("1"), queued_at=10)
    vol = PendingTrigger(source="volatility", price=D("2"), queued_at=20)
    manual = PendingTrigger(source="manual", price=None, queued_at=30, run_id="m")
    assert merge_pending(None, sched) is sched
    merged = merge_pending(merge_pending(sched, vol), manual)
    assert merged == PendingTrigger(source="manual", price=D("2"), queued_at=10, run_id="m")
    assert merge_pending(manual, sched).source == "manual"
    assert URGENCY["manual"] > URGENCY["volatility"] > URGENCY["schedule"]


def test_next_to_run_oldest_first_then_urgency_skips_running_and_respects_pause():
    def waiting(source, at):
        return SymbolState(pending=PendingTrigger(source=source, price=D("1"), queued_at=at))

    states = {"A": waiting("schedule", 5), "B": waiting("manual", 7), "C": waiting("volatility", 5), "D": SymbolState()}
    assert next_to_run(states, VOL) == "C"
    states["C"] = msgspec.structs.replace(states["C"], running_source="volatility")
    assert next_to_run(states, VOL) == "A"
    paused = msgspec.structs.replace(VOL, automation_paused=True)
    assert next_to_run(states, paused) == "B"
    assert next_to_run({"D": SymbolState()}, VOL) is None


def test_a_deadline_falling_during_another_instruments_run_is_served_right_after():
    """The old design skipped it and waited a whole interval; now it waits for the permit."""
    a, b = settled("100"), settled("200")
    states = {"A": a, "B": b}
    states["A"], _ = on_manual(states["A"], D("100"), T0 + 880)
    states["A"], _ = on_run_started(states["A"], T0 + 880)
    assert next_wakeup(states, T0 + 880, VOL) == T0 + 900
    states["B"], decision = on_deadline(states["B"], T0 + 900, VOL, D("200"))
    assert decision is not None
    assert next_to_run(states, VOL) == "B"  # the permit is still held by A: the loop waits for it
    states["A"] = on_run_finished(states["A"], T0 + 1000, True, VOL)
    assert next_to_run(states, VOL) == "B"
    states["B"], start = on_run_started(states["B"], T0 + 1000, D("201"))
    assert start.source == "schedule" and start.triggered_at == T0 + 900


# --------------------------------------------------------------------------- start-up and defaults


def test_startup_without_baseline_runs_once_when_volatility_enabled():
    state, decision = on_startup(SymbolState(), T0, VOL)
    assert decision.source == "volatility" and decision.reason == "startup" and decision.price is None
    assert state.next_scheduled_at == T0 + 900
    state, start = on_run_started(state, T0 + 0.5, D("100"))
    assert start.trigger_price == D("100")
    assert on_run_finished(state, T0 + 30, False, VOL).last_trigger_price == D("100")


def test_restored_baseline_moved_past_threshold_triggers_on_first_tick():
    restored = msgspec.json.decode(msgspec.json.encode(settled("100", at=T0 - 60)), type=SymbolState)
    state, decision = on_startup(restored, T0, VOL)
    assert decision is None and state.last_trigger_price == D("100")
    state, decision = on_tick(state, D("101"), T0 + 1, VOL)
    assert decision is not None and decision.reason == "threshold"


def test_restored_baseline_not_moved_does_not_run():
    state, decision = on_startup(settled("100", at=T0 - 60), T0, VOL)
    assert decision is None
    assert on_tick(state, D("100.5"), T0 + 1, VOL)[1] is None
    assert next_wakeup({"X": state}, T0 + 1, VOL) == T0 - 60 + 900


def test_restored_deadline_already_past_runs_at_once():
    state, decision = on_startup(settled("100", at=T0 - 5000), T0, VOL)
    assert decision.source == "schedule" and state.pending is not None
    assert state.next_scheduled_at == T0 + 900


def test_startup_closes_a_run_interrupted_by_the_restart_and_keeps_waiting_triggers():
    state, _ = on_tick(settled("100", at=T0 - 100), D("101"), T0 - 50, VOL)
    state, _ = on_run_started(state, T0 - 50, D("101"))
    state, _ = on_manual(state, D("101"), T0 - 40, run_id="m1")
    state, decision = on_startup(state, T0, VOL)
    assert state.running_source is None and state.last_trigger_price == D("101")
    assert state.pending.run_id == "m1" and decision is None


def test_defaults_keep_todays_behaviour_manual_only():
    cfg = TriggerConfig()
    assert not cfg.vol_enabled and not cfg.schedule_enabled and cfg.threshold_bps == D(80) and cfg.interval_secs == 60
    state, decision = on_startup(SymbolState(), T0, cfg)
    assert decision is None and state.next_scheduled_at is None
    assert on_tick(state, D("1"), T0 + 1, cfg)[1] is None
    assert on_deadline(state, T0 + 10_000, cfg)[1] is None
    assert next_wakeup({"X": state}, T0, cfg) is None
    state, decision = on_manual(state, D("1"), T0 + 2)
    assert decision.source == "manual" and next_to_run({"X": state}, cfg) == "X"


def test_schedule_only_keeps_a_fixed_interval():
    cfg = TriggerConfig(schedule_enabled=True, interval_secs=60)
    state, decision = on_startup(SymbolState(), T0, cfg)
    assert decision is None and next_wakeup({"X": state}, T0, cfg) == T0 + 60
    assert on_tick(state, D("1"), T0 + 1, cfg)[1] is None


def test_pause_stops_automation_but_not_manual_runs():
    paused = msgspec.structs.replace(VOL, automation_paused=True)
    state = settled("100")
    assert on_tick(state, D("200"), T0 + 1, paused)[1] is None
    assert on_deadline(state, T0 + 5000, paused)[1] is None
    assert next_wakeup({"X": state}, T0, paused) is None
    assert on_startup(SymbolState(), T0, paused)[1] is None
    state, decision = on_manual(state, D("100"), T0 + 2)
    assert decision is not None and next_to_run({"X": state}, paused) == "X"


def test_config_from_settings_and_validation(tmp_path):
    settings_ = load_settings(
        {
            "STRATEGY_VOL_TRIGGER_ENABLED": "true",
            "STRATEGY_VOL_THRESHOLD_BPS": "79.99",
            "STRATEGY_SCHEDULE_ENABLED": "true",
            "STRATEGY_SCHEDULE_INTERVAL_SECS": "900",
            "STRATEGY_VOL_WINDOW_SECS": "120",
        },
        env_file=tmp_path / "absent.env",
    )
    cfg = config_from_settings(settings_)
    assert cfg == TriggerConfig(
        vol_enabled=True, threshold_bps=D("79.99"), schedule_enabled=True, interval_secs=900.0, window_secs=120.0
    )
    assert config_from_settings(load_settings({}, env_file=tmp_path / "absent.env")) == TriggerConfig()
    for bad in ({"threshold_bps": D(0)}, {"interval_secs": 0}, {"window_secs": -1.0}, {"threshold_bps": D("NaN")}):
        with pytest.raises(ValueError):
            TriggerConfig(**bad)


def test_nothing_to_start_or_finish_is_an_error():
    with pytest.raises(ValueError):
        on_run_started(SymbolState(), T0)
    with pytest.raises(ValueError):
        on_run_finished(SymbolState(), T0, True, VOL)
    state, start = on_run_started(SymbolState(), T0, D("5"), source="manual", run_id="direct")
    assert start.run_id == "direct" and state.running_source == "manual"


# --------------------------------------------------------------------------- properties over event streams

INSTRUMENTS = ("A", "B", "C")

events = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.sampled_from(INSTRUMENTS), st.integers(-150, 150), st.floats(0, 20)),
        st.tuples(st.just("manual"), st.sampled_from(INSTRUMENTS), st.just(0), st.floats(0, 20)),
        st.tuples(st.just("finish"), st.booleans(), st.just(0), st.floats(0, 60)),
        st.tuples(st.just("clock"), st.just(""), st.just(0), st.floats(0, 120)),
    ),
    max_size=80,
)
configs = st.builds(
    TriggerConfig,
    vol_enabled=st.booleans(),
    threshold_bps=st.sampled_from([D(1), D(25), D(80), D("80.5"), D(200)]),
    schedule_enabled=st.booleans(),
    interval_secs=st.sampled_from([1.0, 30.0, 60.0, 900.0]),
    window_secs=st.sampled_from([None, 0.0, 15.0, 100.0]),
    refresh_baseline_on_failure=st.booleans(),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs, stream=events, restored=st.booleans())
def test_loop_invariants_hold_for_any_event_stream(cfg, stream, restored):
    """Drive the rules like the service loop (one permit) and check the invariants after every step."""
    now = T0
    prices = {inst: D("100") for inst in INSTRUMENTS}
    states: dict[str, SymbolState] = {}
    for inst in INSTRUMENTS:
        initial = settled("100", at=T0 - 1000) if restored else SymbolState()
        states[inst], _ = on_startup(initial, now, cfg)
    running: str | None = None
    manual_ids: set[str] = set()
    started_ids: set[str] = set()

    def start_next() -> None:
        nonlocal running
        if running is None and (inst := next_to_run(states, cfg)) is not None:
            assert states[inst].running_source is None
            states[inst], start = on_run_started(states[inst], now, prices[inst])
            if start.run_id:
                started_ids.add(start.run_id)
            running = inst

    def finish(ok: bool) -> None:
        nonlocal running
        inst, running = running, None
        trigger_price = states[inst].running_trigger_price
        before = states[inst].last_trigger_price
        states[inst] = on_run_finished(states[inst], now, ok, cfg)
        expected = trigger_price if (ok or cfg.refresh_baseline_on_failure) and trigger_price is not None else before
        assert states[inst].last_trigger_price == expected

    def check_wakeup() -> None:
        wake = next_wakeup(states, now, cfg)
        due = [on_deadline(s, now, cfg)[1] is not None for s in states.values()]
        if wake is None or wake > now:
            assert not any(due)
        else:
            assert any(due)

    start_next()
    for index, (kind, arg, move, dt) in enumerate(stream):
        now += dt
        check_wakeup()
        # deadlines due by now fire first (the loop would have woken for them)
        for inst in INSTRUMENTS:
            states[inst], _ = on_deadline(states[inst], now, cfg, prices[inst])
        if kind == "tick":
            prices[arg] = (prices[arg] * (1 + D(move) / D(10000))).quantize(D("0.0001"))
            before = states[arg]
            states[arg], decision = on_tick(states[arg], prices[arg], now, cfg)
            if decision is None:
                assert states[arg] is before
            elif before.running_source == "volatility" and cfg.window_secs is not None:
                pytest.fail("a volatility follow-up was queued inside the window")
        elif kind == "manual":
            run_id = f"m{index}"
            states[arg], decision = on_manual(states[arg], prices[arg], now, run_id=run_id)
            manual_ids.add(states[arg].pending.run_id)
        elif kind == "finish" and running is not None:
            finish(arg)
        start_next()
        assert sum(s.running_source is not None for s in states.values()) <= 1
        for state in states.values():
            if state.next_scheduled_at is not None:
                assert cfg.schedule_enabled
    # drain: nothing waiting is ever lost, every manual request gets its run
    for _ in range(len(INSTRUMENTS) * 2 + 2):
        if running is not None:
            finish(True)
        start_next()
    if running is not None:
        finish(True)
    assert all(s.pending is None and s.running_source is None for s in states.values())
    assert manual_ids <= started_ids


@settings(max_examples=200, deadline=None)
@given(
    sources=st.lists(st.sampled_from(["schedule", "volatility", "manual"]), min_size=1, max_size=6),
    prices=st.lists(st.one_of(st.none(), st.decimals(min_value=1, max_value=1000, places=2)), min_size=6, max_size=6),
)
def test_merging_any_number_of_triggers_keeps_one_with_the_top_source_and_newest_price(sources, prices):
    merged = None
    for index, source in enumerate(sources):
        merged = merge_pending(merged, PendingTrigger(source=source, price=prices[index], queued_at=float(index)))
    assert merged.source == max(sources, key=URGENCY.__getitem__)
    known = [p for p in prices[: len(sources)] if p is not None]
    assert merged.price == (known[-1] if known else None)
    assert merged.queued_at == 0.0


def test_state_round_trips_through_json():
    state, _ = on_manual(settled("123.45"), D("123.5"), T0 + 1, run_id="abc")
    state = msgspec.structs.replace(state, vol_cooldown_until=T0 + 60)
    assert msgspec.json.decode(msgspec.json.encode(state), type=SymbolState) == state


@settings(max_examples=300, deadline=None)
@given(
    baseline=st.decimals(min_value=D("0.0001"), max_value=D("100000"), places=4),
    move_bps=st.decimals(min_value=D("-300"), max_value=D("300"), places=2),
    threshold=st.sampled_from([D(1), D("79.99"), D(80), D("80.01"), D(150)]),
)
def test_on_tick_fires_exactly_when_the_price_crosses(baseline, move_bps, threshold):
    cfg = TriggerConfig(vol_enabled=True, threshold_bps=threshold)
    state = settled(str(baseline), cfg=cfg)
    with decimal.localcontext(decimal.Context(prec=100)):
        price = baseline * (1 + move_bps / D(10000))
    new_state, decision = on_tick(state, price, T0 + 1, cfg)
    assert (decision is not None) is crosses_threshold(price, baseline, threshold) is (abs(move_bps) >= threshold)
    assert (new_state is state) is (decision is None)


def test_status_baseline_follows_the_running_trigger_price():
    from api_server.scheduler import any_running, measuring_baseline

    state, _ = on_manual(settled("100"), D("101"), T0 + 1)
    assert measuring_baseline(state) == D("100") and not any_running({"X": state})
    state, _ = on_run_started(state, T0 + 1)
    assert measuring_baseline(state) == D("101") and any_running({"X": state})
