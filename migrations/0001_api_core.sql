-- Trading API core tables.
-- depends:

create table if not exists service_events (
    id bigserial primary key,
    at timestamptz not null default now(),
    service text not null,
    kind text not null,
    detail jsonb not null default '{}'::jsonb
);
