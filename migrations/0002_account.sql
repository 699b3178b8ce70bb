-- Account records: balance snapshots (the equity curve), the initial equity, orders / fills / positions
-- synced from OKX, the risk guard's day state and refusals, and pending approvals of agent orders.
-- Money is NUMERIC (exact); OKX's string numbers are stored as they came.
-- depends: 0001_api_core

create table if not exists balance_snapshots (
    id bigserial primary key,
    taken_at timestamptz not null default now(),
    total_eq numeric not null,
    usdt_eq numeric,
    usdt_available numeric,
    usdt_frozen numeric,
    upl numeric,
    details jsonb not null default '[]'::jsonb
);
create index if not exists balance_snapshots_taken_idx on balance_snapshots (taken_at);

-- At most one row: the primary key can only ever be TRUE.
create table if not exists initial_equities (
    singleton boolean primary key default true check (singleton),
    amount numeric not null check (amount >= 0),
    set_at timestamptz not null default now(),
    source text not null check (source in ('env', 'api'))
);

-- Every order the system placed (written BEFORE it is sent, keyed by clOrdId) and every order OKX reports.
create table if not exists trade_orders (
    id bigserial primary key,
    cl_ord_id text unique,
    ord_id text unique,
    inst_id text not null,
    origin text not null check (origin in ('manual', 'agent', 'exchange')),
    run_id text,
    purpose text not null default 'order' check (purpose in ('order', 'close', 'external')),
    side text not null default '',
    pos_side text not null default '',
    ord_type text not null default '',
    td_mode text not null default '',
    sz numeric,
    px numeric,
    reduce_only boolean not null default false,
    lever numeric,
    tp_trigger_px numeric,
    sl_trigger_px numeric,
    -- submitting (recorded, not yet acknowledged) | sent | rejected | failed | OKX states (live, filled, ...)
    state text not null,
    acc_fill_sz numeric,
    avg_px numeric,
    fee numeric,
    pnl numeric,
    category text not null default '',
    okx_source text not null default '',
    cancel_source text not null default '',
    error text,
    request jsonb,
    okx_created_at timestamptz,
    okx_updated_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index if not exists trade_orders_inst_idx on trade_orders (inst_id, id desc);
create index if not exists trade_orders_state_idx on trade_orders (state);

create table if not exists trade_fills (
    id bigserial primary key,
    inst_id text not null,
    trade_id text not null,
    ord_id text not null,
    cl_ord_id text not null default '',
    bill_id text not null default '',
    side text not null,
    pos_side text not null default '',
    fill_px numeric not null,
    fill_sz numeric not null,
    fill_pnl numeric,
    fee numeric,
    fee_ccy text not null default '',
    exec_type text not null default '',
    filled_at timestamptz not null,
    recorded_at timestamptz not null default now(),
    unique (inst_id, trade_id)
);
create index if not exists trade_fills_time_idx on trade_fills (filled_at desc);
create index if not exists trade_fills_ord_idx on trade_fills (ord_id);

-- One row per position lifetime: opened when OKX first reports it, closed when OKX stops reporting it.
create table if not exists trade_positions (
    id bigserial primary key,
    inst_id text not null,
    mgn_mode text not null,
    pos_side text not null,
    pos_id text not null default '',
    state text not null check (state in ('open', 'closed')),
    pos numeric not null,
    avg_px numeric,
    lever numeric,
    tp_trigger_px numeric,
    sl_trigger_px numeric,
    realized_pnl numeric,
    opened_at timestamptz not null,
    updated_at timestamptz not null default now(),
    closed_at timestamptz,
    -- closed_by_us (our order or close-position) | stop (TP/SL triggered) | exchange (liquidation, ADL, elsewhere)
    close_reason text check (close_reason in ('closed_by_us', 'stop', 'exchange')),
    close_detail text,
    close_ord_id text,
    close_origin text,
    close_run_id text
);
create unique index if not exists trade_positions_open_uidx
    on trade_positions (inst_id, mgn_mode, pos_side) where state = 'open';
create index if not exists trade_positions_closed_idx on trade_positions (closed_at desc) where state = 'closed';

-- The daily-loss latch: one row (the current UTC day's baseline, latch and manual reset).
create table if not exists risk_day_state (
    singleton boolean primary key default true check (singleton),
    day date not null,
    day_start_equity numeric not null,
    latched_at timestamptz,
    reset_at timestamptz,
    updated_at timestamptz not null default now()
);

create table if not exists risk_refusals (
    id bigserial primary key,
    at timestamptz not null default now(),
    origin text not null,
    run_id text,
    inst_id text not null,
    rule text not null,
    limit_value text,
    actual_value text,
    message text not null,
    request jsonb not null default '{}'::jsonb
);
create index if not exists risk_refusals_at_idx on risk_refusals (at desc);

create table if not exists trade_approvals (
    id bigserial primary key,
    created_at timestamptz not null default now(),
    kind text not null check (kind in ('order', 'close')),
    run_id text,
    inst_id text not null,
    cl_ord_id text not null unique,
    request jsonb not null,
    -- pending | approving | approved | rejected | refused (risk re-check) | failed (OKX refused)
    status text not null default 'pending',
    decided_at timestamptz,
    detail text
);
create index if not exists trade_approvals_status_idx on trade_approvals (status, id desc);
