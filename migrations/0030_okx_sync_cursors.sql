-- How far the REST reconciler has paged OKX's history (api_server/account/catchup.py): per stream
-- ('fills' by billId, 'orders' by ordId) the newest id below which every record is known to be recorded.
-- Advanced only after a catch-up reached it, so a restart or a failed page never skips anything.
-- depends: 0002_account

create table if not exists okx_sync_cursors (
    stream text primary key,
    last_id numeric not null,
    updated_at timestamptz not null default now()
);
