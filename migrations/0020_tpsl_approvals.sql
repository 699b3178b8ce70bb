-- A position's TP/SL (POST /api/trade/position-tpsl) goes through the same approval rule as orders: an agent's
-- change waits as an approval of kind 'tpsl' when TRADE_APPROVAL_MODE=manual.
-- depends: 0002_account
alter table trade_approvals drop constraint if exists trade_approvals_kind_check;
alter table trade_approvals add constraint trade_approvals_kind_check check (kind in ('order', 'close', 'tpsl'));
