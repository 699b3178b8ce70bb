"""Strategy trigger scheduler: decides when each instrument's analysis runs.

`decisions` holds the pure rules (volatility threshold, deadline timer, manual runs, coalescing of
waiting triggers, one analysis at a time); `replay` runs candle files through those same rules.
"""

from api_server.scheduler.decisions import (
    SOURCES,
    URGENCY,
    Decision,
    PendingTrigger,
    RunStart,
    Source,
    SymbolState,
    TriggerConfig,
    any_running,
    config_from_settings,
    crosses_threshold,
    deviation_bps,
    measuring_baseline,
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

__all__ = [
    "SOURCES",
    "URGENCY",
    "Decision",
    "PendingTrigger",
    "RunStart",
    "Source",
    "SymbolState",
    "TriggerConfig",
    "config_from_settings",
    "crosses_threshold",
    "deviation_bps",
    "any_running",
    "measuring_baseline",
    "merge_pending",
    "next_to_run",
    "next_wakeup",
    "on_deadline",
    "on_manual",
    "on_run_finished",
    "on_run_started",
    "on_startup",
    "on_tick",
]
