-- LLM budget reservations (a call reserves its estimated cost before it is sent, settled after) and reasoning
-- tokens; named MCP tokens with scopes, stored as SHA-256 hashes.
-- depends: 0100_agent_memory

alter table agent_llm_usage add column if not exists reasoning_tokens integer not null default 0;
alter table agent_llm_usage add column if not exists reserved_usd numeric(18, 10) not null default 0;
alter table agent_llm_usage add column if not exists settled boolean not null default true;

create table if not exists agent_mcp_tokens (
    name text primary key check (name ~ '^[A-Za-z0-9_.-]{1,48}$'),
    token_sha256 text not null unique,
    scopes text[] not null check (scopes <@ array['read', 'trade', 'lab']::text[] and cardinality(scopes) > 0),
    created_at timestamptz not null default now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
