#!/usr/bin/env bash
# A project-local PostgreSQL cluster for `make run` and `make test` (used when DATABASE_URL is unset).
#   scripts/pg.sh start NAME PORT DBNAME   create (first time) and start .data/NAME; print its DATABASE_URL
#   scripts/pg.sh stop NAME                stop it (data kept)
#   scripts/pg.sh url NAME PORT DBNAME     print the URL only
# initdb refuses to run as root, so as root the cluster belongs to the `postgres` user.
# Access (the machine may be shared): TCP on 127.0.0.1 only, with scram-sha-256 and a generated password (the URL
# printed carries it); the Unix socket lives in a 0700 folder of the cluster owner, who alone connects through it
# (peer authentication, mapped to the `postgres` role). No `trust` anywhere. The password is PG_PASSWORD from the
# environment when given (`make run` keeps it in .env as LOCAL_PG_PASSWORD), else the one stored with the cluster
# (DATA/aitrader-password, mode 600), else a new one. Clusters made by older versions (trust) are converted on start.
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

owner_user() { if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi; }

# The cluster's password: PG_PASSWORD, else the stored one, else a new random one (hex: URL-safe as it is).
cluster_password() {
  local data=$1 file="$1/aitrader-password"
  if [ -n "${PG_PASSWORD:-}" ]; then echo "$PG_PASSWORD"
  elif [ -s "$file" ]; then cat "$file"
  else od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; echo
  fi
}

store_password() {
  local file="$1/aitrader-password"
  (umask 077; printf '%s\n' "$2" > "$file.new" && mv "$file.new" "$file")
}

# Only the cluster owner through the 0700 socket folder (peer), everyone else over TCP with the password.
write_hba() {
  local data=$1
  as_owner tee "$data/pg_hba.conf" >/dev/null <<HBA
# Written by scripts/pg.sh on every start (edits are replaced). No trust: see the header of scripts/pg.sh.
local   all   all                 peer map=owner
host    all   all   127.0.0.1/32  scram-sha-256
host    all   all   ::1/128       scram-sha-256
HBA
  as_owner tee "$data/pg_ident.conf" >/dev/null <<IDENT
owner   $(owner_user)   postgres
IDENT
}

# psql as the cluster owner through the private socket (SQL on stdin, so nothing secret is on a command line).
owner_psql() {
  as_owner "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$data/run" -p "$port" -U postgres -d postgres "$@"
}

url() {
  local password=${1:-}
  if [ -z "$password" ] && [ -n "${data:-}" ] && [ -s "$data/aitrader-password" ]; then password=$(cat "$data/aitrader-password"); fi
  if [ -n "$password" ]; then echo "postgresql://postgres:$password@127.0.0.1:$port/$dbname"
  else echo "postgresql://postgres@127.0.0.1:$port/$dbname"; fi
}

case "$cmd" in
  url) data=$(datadir_for); url ;;
  start)
    bindir=$(find_bindir) || {
      echo "pg.sh: no PostgreSQL server binaries found. Install them (Debian: apt-get install -y postgresql-15)" >&2
      echo "       or set DATABASE_URL to an existing server." >&2
      exit 1; }
    data=$(datadir_for)
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres: "$data" && chmod 700 "$data"
    password=$(cluster_password "$data")
    case "$password" in *[!A-Za-z0-9._~-]*) echo "pg.sh: PG_PASSWORD may hold only A-Z a-z 0-9 . _ ~ - (it goes into a URL as it is)" >&2; exit 2 ;; esac
    if [ ! -f "$data/PG_VERSION" ]; then
      pwfile=$(mktemp)
      printf '%s\n' "$password" > "$pwfile"
      [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
      as_owner "$bindir/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=scram-sha-256 --pwfile="$pwfile" \
        --encoding=UTF8 --no-instructions >/dev/null
      rm -f "$pwfile"
    fi
    mkdir -p "$data/run"; [ "$(id -u)" = 0 ] && chown postgres: "$data/run"
    chmod 700 "$data/run"
    write_hba "$data"
    if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      as_owner "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 30 \
        -o "-p $port -k $data/run -c listen_addresses=127.0.0.1 -c unix_socket_permissions=0700 -c password_encryption=scram-sha-256 -c fsync=off -c max_connections=200" start >/dev/null
    else
      as_owner "$bindir/pg_ctl" -D "$data" reload >/dev/null
    fi
    # (Re)set the password: a converted old cluster gets one, and PG_PASSWORD may have changed.
    printf "set log_statement = 'none';\nalter role postgres password '%s';\n" "$password" | owner_psql >/dev/null
    store_password "$data" "$password"
    if ! echo "select 1 from pg_database where datname='$dbname'" | owner_psql -tA | grep -q 1; then
      echo "create database \"$dbname\"" | owner_psql >/dev/null
    fi
    url "$password" ;;
  stop)
    bindir=$(find_bindir) || exit 0
    data=$(datadir_for)
    [ -f "$data/PG_VERSION" ] && as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true ;;
  *) echo "usage: pg.sh start|stop|url NAME [PORT DBNAME]" >&2; exit 2 ;;
esac
