-- The trading equity (USDT eq in Futures mode, adjEq in multi-currency / portfolio margin) next to totalEq (every
-- coin at USD value): the equity curve, PnL% and the daily-loss baseline use it. Old rows have none (null).
-- depends: 0002_account
alter table balance_snapshots add column if not exists trading_eq numeric;
