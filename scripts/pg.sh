#!/usr/bin/env bash
# A project-local PostgreSQL cluster for `make run` and `make test` (used when DATABASE_URL is unset).
#   scripts/pg.sh start NAME PORT DBNAME   create (first time) and start .data/NAME; print its DATABASE_URL
#   scripts/pg.sh stop NAME                stop it (data kept)
#   scripts/pg.sh url NAME PORT DBNAME     print the URL only
# initdb refuses to run as root, so as root the cluster belongs to the `postgres` user.
set -euo pipefail
cmd=${1:?usage: pg.sh start|stop|url NAME [PORT DBNAME]}
name=${2:?cluster name}
port=${3:-54329}
dbname=${4:-aitrader}
root=$(cd "$(dirname "$0")/.." && pwd)

find_bindir() {
  if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/initdb" ]; then echo "$PG_BINDIR"; return; fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  if command -v initdb >/dev/null; then dirname "$(command -v initdb)"; return; fi
  return 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

datadir_for() {
  local d="$root/.data/$name"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "pg.sh: running as root needs a 'postgres' system user (apt-get install postgresql)" >&2; exit 1; }
    mkdir -p "$root/.data"
    # The postgres user must be able to reach the folder; if a parent is closed to it, use /tmp.
    if ! runuser -u postgres -- test -x "$root/.data"; then
      d="/tmp/aitrader-pg-$(echo "$root" | md5sum | cut -c1-8)-$name"
    fi
  fi
  echo "$d"
}

url() { echo "postgresql://postgres@127.0.0.1:$port/$dbname"; }

case "$cmd" in
  url) url ;;
  start)
    bindir=$(find_bindir) || {
      echo "pg.sh: no PostgreSQL server binaries found. Install them (Debian: apt-get install -y postgresql-15)" >&2
      echo "       or set DATABASE_URL to an existing server." >&2
      exit 1; }
    data=$(datadir_for)
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres: "$data" && chmod 700 "$data"
    if [ ! -f "$data/PG_VERSION" ]; then
      as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-instructions >/dev/null
      mkdir -p "$data/run"; [ "$(id -u)" = 0 ] && chown postgres: "$data/run"
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      as_owner "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 30 \
        -o "-p $port -k $data/run -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
    fi
    if ! "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "select 1 from pg_database where datname='$dbname'" | grep -q 1; then
      "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "create database \"$dbname\"" >/dev/null
    fi
    url ;;
  stop)
    bindir=$(find_bindir) || exit 0
    data=$(datadir_for)
    [ -f "$data/PG_VERSION" ] && as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true ;;
  *) echo "usage: pg.sh start|stop|url NAME [PORT DBNAME]" >&2; exit 2 ;;
esac
