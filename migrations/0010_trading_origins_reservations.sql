-- The order path's reservations and origins, and the run's structured decision.
-- * trade_orders.reserved_notional: the worst-case notional an order reserved when the risk guard let it
--   through; it counts in every later check while the order's outcome is not confirmed by OKX.
-- * origins are the caller's full string (manual | agent:run:<id> | agent:chat:<id> | mcp:<name>; old rows: agent).
-- * strategy_runs.decision: the agent's structured decision (CONTRACT §5 analysis_result.decision).
-- depends: 0003_scheduler

alter table trade_orders add column if not exists reserved_notional numeric;
alter table trade_orders drop constraint if exists trade_orders_origin_check;
alter table trade_orders add constraint trade_orders_origin_check
    check (origin in ('manual', 'agent', 'exchange') or origin ~ '^(agent:run:|agent:chat:|mcp:)[A-Za-z0-9_.:-]{1,64}$');
alter table trade_approvals add column if not exists origin text not null default 'agent';
alter table strategy_runs add column if not exists decision jsonb;
