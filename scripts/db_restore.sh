#!/usr/bin/env bash
# Restore a backup made by scripts/db_backup.sh (pg_dump custom format) into an EMPTY database.
#   scripts/db_restore.sh FILE [--target URL] [--clean]
# Target: --target URL, else DATABASE_URL from the environment, else from the env file (AITRADER_ENV_FILE or .env).
# Stop the API and the agent first. A target that already has tables is refused unless --clean is given, which
# drops the backed-up objects before recreating them. Create an empty database with e.g.
#   createdb -h HOST -U USER aitrader_restored
# The restore runs in one transaction: it either completes or leaves the target as it was.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/db_common.sh
. "$root/scripts/db_common.sh"

file="" target="" clean=0
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target=${2:?--target needs a database URL}; shift 2 ;;
    --clean) clean=1; shift ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "db_restore.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) [ -z "$file" ] || { echo "db_restore.sh: one backup file only" >&2; exit 2; }; file=$1; shift ;;
  esac
done
[ -n "$file" ] || { echo "usage: db_restore.sh FILE [--target URL] [--clean]" >&2; exit 2; }
[ -f "$file" ] || { echo "db_restore.sh: no such backup file: $file" >&2; exit 1; }

if [ -n "$target" ]; then
  url=$(DATABASE_URL=$target database_url) || exit 1
else
  url=$(database_url) || exit 1
fi
split_password "$url"
bindir=$(pg_bindir pg_restore) || exit 1
"$bindir/pg_restore" --list "$file" >/dev/null 2>&1 || { echo "db_restore.sh: $file is not a pg_dump custom-format archive" >&2; exit 1; }

existing=$(with_password "$bindir/psql" --dbname="$pg_url" -X -tAq -v ON_ERROR_STOP=1 -c \
  "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r','p','v','m','S') and n.nspname not in ('pg_catalog','information_schema')
   and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'") || {
  echo "db_restore.sh: cannot connect to $(redact_url "$url")" >&2; exit 1; }
options=(--dbname="$pg_url" --no-owner --no-privileges --exit-on-error --single-transaction)
if [ "$existing" != 0 ]; then
  if [ "$clean" != 1 ]; then
    echo "db_restore.sh: $(redact_url "$url") is not empty ($existing tables/sequences/views)." >&2
    echo "  Restore into a new empty database, or add --clean to replace the backed-up objects." >&2
    exit 1
  fi
  options+=(--clean --if-exists)
fi
with_password "$bindir/pg_restore" "${options[@]}" "$file"
tables=$(with_password "$bindir/psql" --dbname="$pg_url" -X -tAq -c "select count(*) from pg_tables where schemaname not in ('pg_catalog','information_schema')")
echo "restored $file into $(redact_url "$url") ($tables tables)" >&2
