#!/usr/bin/env bash
# Back up the AiTrader database with pg_dump (custom format, compressed, restorable with scripts/db_restore.sh).
#   scripts/db_backup.sh [-o FILE]
# The database is DATABASE_URL from the environment, else from the env file (AITRADER_ENV_FILE, default .env).
# Default FILE: .data/backups/aitrader-<UTC time>.dump. The file is private (mode 600): it holds every table.
# The yoyo migration tables are included, so a restored database knows which migrations it has.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/db_common.sh
. "$root/scripts/db_common.sh"

out=""
while [ $# -gt 0 ]; do
  case "$1" in
    -o|--output) out=${2:?-o needs a file name}; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "db_backup.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

url=$(database_url) || exit 1
split_password "$url"
bindir=$(pg_bindir pg_dump) || exit 1
if [ -z "$out" ]; then
  mkdir -p "$root/.data/backups" && chmod 700 "$root/.data/backups"
  out="$root/.data/backups/aitrader-$(date -u +%Y%m%dT%H%M%SZ).dump"
fi
mkdir -p "$(dirname "$out")"
tmp="$out.partial"
umask 077
# --no-owner/--no-privileges: the dump restores into a database owned by whichever role restores it.
if ! with_password "$bindir/pg_dump" --dbname="$pg_url" --format=custom --compress=6 --no-owner --no-privileges --file="$tmp"; then
  rm -f "$tmp"
  echo "db_backup.sh: pg_dump of $(redact_url "$url") failed" >&2
  exit 1
fi
mv "$tmp" "$out"
tables=$("$bindir/pg_restore" --list "$out" | grep -c ' TABLE DATA ' || true)
echo "backup of $(redact_url "$url"): $out ($(du -h "$out" | cut -f1), $tables tables)" >&2
echo "$out"
