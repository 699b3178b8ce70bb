-- Strategy lab (issue 13, CONTRACT §8): candle datasets, versioned strategy profiles, backtests and what they
-- leave behind (equity curve, fills, runs), and the LLM answer cache that makes reruns reproducible and free.
-- Nothing here references the live tables: a backtest never touches live records, orders or memory.
-- depends: 0001_api_core

create table if not exists lab_datasets (
    id text primary key,
    inst_id text not null,
    bar text not null,
    source text not null,                 -- 'api', 'file:<path>', 'okx'
    row_count integer not null check (row_count > 0),
    from_ts bigint not null,              -- first candle start, ms
    to_ts bigint not null,                -- last candle start, ms
    content_hash text not null,           -- sha256 of the normalised rows: the same file imported twice is one dataset
    created_at timestamptz not null default now(),
    unique (content_hash)
);

create table if not exists lab_candles (
    dataset_id text not null references lab_datasets (id) on delete cascade,
    ts bigint not null,
    o numeric not null, h numeric not null, l numeric not null, c numeric not null, v numeric not null,
    primary key (dataset_id, ts)
);

-- A profile version is immutable: saving a change inserts the next version (see the trigger below).
create table if not exists lab_profiles (
    name text not null,
    version integer not null check (version >= 1),
    spec jsonb not null,
    created_at timestamptz not null default now(),
    primary key (name, version)
);

create or replace function lab_profiles_immutable() returns trigger language plpgsql as $$
begin
    raise exception 'lab_profiles rows are immutable: save a new version instead';
end $$;
drop trigger if exists lab_profiles_no_update on lab_profiles;
create trigger lab_profiles_no_update before update on lab_profiles
    for each row execute function lab_profiles_immutable();

create table if not exists lab_backtests (
    id text primary key,
    status text not null check (status in ('queued', 'running', 'succeeded', 'failed', 'canceled')),
    progress double precision not null default 0 check (progress >= 0 and progress <= 1),
    profile_name text not null,
    profile_version integer not null,
    dataset_id text not null references lab_datasets (id),
    inst_id text not null,
    params jsonb not null,
    estimate jsonb not null default '{}'::jsonb,
    metrics jsonb,                        -- set only together with a terminal status (never half-written)
    partial boolean not null default false,   -- stopped at the budget (or canceled): results cover part of the period
    partial_reason text,
    start_equity numeric not null,
    end_equity numeric,
    sim_ts bigint,                        -- simulated time reached, ms
    runs_done integer not null default 0,
    cost_usd numeric not null default 0,
    error text,
    attempts integer not null default 0,
    worker text,
    sweep_id text,
    cancel_requested boolean not null default false,
    created_at timestamptz not null default now(),
    started_at timestamptz,
    heartbeat_at timestamptz,
    finished_at timestamptz,
    foreign key (profile_name, profile_version) references lab_profiles (name, version)
);
create index if not exists lab_backtests_newest_idx on lab_backtests (created_at desc, id desc);
create index if not exists lab_backtests_profile_idx on lab_backtests (profile_name, created_at desc);

create table if not exists lab_equity (
    backtest_id text not null references lab_backtests (id) on delete cascade,
    ts bigint not null,
    equity numeric not null,
    primary key (backtest_id, ts)
);

create table if not exists lab_fills (
    backtest_id text not null references lab_backtests (id) on delete cascade,
    seq integer not null,
    ts bigint not null,
    side text not null,
    pos_side text not null,
    px numeric not null,
    sz numeric not null,
    fee numeric not null,
    realized_pnl numeric not null,
    exec_type text not null,              -- T taker, M maker
    kind text not null,                   -- order, tp_sl, liquidation
    cl_ord_id text,
    primary key (backtest_id, seq)
);

create table if not exists lab_runs (
    backtest_id text not null references lab_backtests (id) on delete cascade,
    seq integer not null,
    id text not null,
    inst_id text not null,
    source text not null check (source in ('volatility', 'schedule', 'manual')),
    status text not null,
    triggered_at bigint not null,
    finished_at bigint not null,
    trigger_price numeric,
    baseline_price numeric,
    deviation_bps numeric,
    error text,
    summary text,
    decision jsonb,
    tool_calls jsonb not null default '[]'::jsonb,
    orders jsonb not null default '[]'::jsonb,
    input_tokens integer not null default 0,
    output_tokens integer not null default 0,
    cost_usd numeric not null default 0,
    primary key (backtest_id, seq)
);

-- key = sha256 of the canonical JSON of (model, messages, tools); the answer is the provider's raw response.
create table if not exists lab_llm_cache (
    key text primary key,
    model text not null,
    response bytea not null,
    content_type text not null,
    created_at timestamptz not null default now()
);
