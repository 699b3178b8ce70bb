-- Strategy trigger scheduler: per-instrument trigger state (restored at start-up), the shared control row
-- (pause switch, consecutive failures, current leader), every strategy run (CONTRACT §6) and the strategy
-- messages (AI summaries) shown by GET /api/model/strategy-chat.
-- depends: 0001_api_core

-- One row per instrument: the scheduler's SymbolState as msgspec JSON (decisions.SymbolState), written on every change.
create table if not exists scheduler_symbol_states (
    inst_id text primary key,
    state jsonb not null,
    updated_at timestamptz not null default now()
);

-- Exactly one row. Shared by every API process: a pause asked of any process is seen by the leader.
create table if not exists scheduler_control (
    id smallint primary key default 1 check (id = 1),
    paused boolean not null default false,
    paused_reason text,
    paused_by text check (paused_by in ('user', 'system')),
    paused_at timestamptz,
    consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
    leader_id text,
    leader_since timestamptz,
    updated_at timestamptz not null default now()
);
insert into scheduler_control (id) values (1) on conflict (id) do nothing;

-- Every run a trigger leaves behind. `queued`: a manual request accepted and waiting for the analysis permit
-- (the leader picks queued rows up, including those recorded by non-leader API processes).
create table if not exists strategy_runs (
    id text primary key,
    inst_id text not null,
    source text not null check (source in ('volatility', 'schedule', 'manual')),
    status text not null check (status in ('queued', 'running', 'succeeded', 'failed', 'skipped')),
    triggered_at timestamptz not null,
    started_at timestamptz,
    finished_at timestamptz,
    trigger_price numeric,
    baseline_price numeric,
    deviation_bps numeric,
    error text,
    summary text,
    confidence integer,
    tool_calls jsonb not null default '[]'::jsonb,
    orders jsonb not null default '[]'::jsonb,
    provider text,
    model text,
    input_tokens integer,
    output_tokens integer,
    cost_usd numeric,
    duration_ms double precision,
    created_at timestamptz not null default now()
);
create index if not exists strategy_runs_newest_idx on strategy_runs (triggered_at desc, id desc);
create index if not exists strategy_runs_inst_newest_idx on strategy_runs (inst_id, triggered_at desc, id desc);
create index if not exists strategy_runs_queued_idx on strategy_runs (triggered_at) where status = 'queued';

create table if not exists strategy_messages (
    id bigserial primary key,
    run_id text references strategy_runs (id) on delete set null,
    inst_id text not null,
    role text not null,
    content text not null,
    created_at timestamptz not null default now()
);
create index if not exists strategy_messages_newest_idx on strategy_messages (created_at desc, id desc);
create index if not exists strategy_messages_inst_idx on strategy_messages (inst_id, created_at desc, id desc);
