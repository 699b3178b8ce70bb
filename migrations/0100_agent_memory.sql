-- Agent conversation memory (sessions and messages per instrument or chat) and LLM usage with cost.
-- depends: 0001_api_core

create table if not exists agent_sessions (
    id text primary key,
    kind text not null check (kind in ('analysis', 'chat')),
    inst_id text,
    title text not null default '',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index if not exists agent_sessions_updated_idx on agent_sessions (updated_at desc);
create index if not exists agent_sessions_inst_idx on agent_sessions (inst_id, updated_at desc);

create table if not exists agent_messages (
    id bigserial primary key,
    session_id text not null references agent_sessions (id) on delete cascade,
    run_id text,
    role text not null check (role in ('user', 'assistant', 'tool')),
    content text not null default '',
    brief text,
    tool_calls jsonb,
    tool_call_id text,
    tool_name text,
    tokens integer not null default 0,
    created_at timestamptz not null default now()
);
create index if not exists agent_messages_session_idx on agent_messages (session_id, id);

create table if not exists agent_llm_usage (
    id bigserial primary key,
    at timestamptz not null default now(),
    run_id text,
    session_id text,
    provider text not null,
    model text not null,
    input_tokens integer not null,
    cached_input_tokens integer not null,
    output_tokens integer not null,
    cost_usd numeric(18, 10) not null
);
create index if not exists agent_llm_usage_at_idx on agent_llm_usage (at);
