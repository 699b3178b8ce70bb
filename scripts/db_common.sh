# Shared by scripts/db_backup.sh and scripts/db_restore.sh (sourced, not run). Expects $root (the repo or app folder).

# DATABASE_URL from the environment, else from the env file (AITRADER_ENV_FILE, default $root/.env). Parsed with
# shared/envfile.py when a Python with the project is at hand (same rules as the services), else by a plain grep.
database_url() {
  local url=${DATABASE_URL:-}
  local env_file=${AITRADER_ENV_FILE:-$root/.env}
  if [ -z "$url" ] && [ -f "$env_file" ]; then
    local py=""
    for candidate in "$root/.venv/bin/python" "$root/../venv/bin/python" python3; do
      if command -v "$candidate" >/dev/null 2>&1; then py=$candidate; break; fi
    done
    if [ -n "$py" ] && [ -f "$root/shared/envfile.py" ]; then
      url=$(cd "$root" && "$py" -c 'import sys; from pathlib import Path; from shared.envfile import load_environment; print(load_environment(Path(sys.argv[1]), {}).get("DATABASE_URL", ""))' "$env_file")
    else
      url=$(sed -n 's/^[[:space:]]*DATABASE_URL[[:space:]]*=[[:space:]]*//p' "$env_file" | tail -n1 | sed "s/^[\"']//; s/[\"']\$//")
    fi
  fi
  if [ -z "$url" ]; then
    echo "no DATABASE_URL: set it in the environment or in $env_file" >&2
    return 1
  fi
  # libpq does not know SQLAlchemy-style driver suffixes (postgresql+psycopg://).
  echo "$url" | sed -E 's#^postgres(ql)?\+[a-z0-9]+://#postgresql://#'
}

# Split a database URL into pg_url (the URL without its password) and pg_password (decoded; empty when the URL has
# none). The password then reaches libpq only through the environment of the one child that needs it (with_password),
# never a command line: the process list (ps, /proc/*/cmdline) is readable by every local user.
split_password() {
  local url=$1
  if [[ "$url" =~ ^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@?#]*):([^@/?#]*)@(.*)$ ]]; then
    pg_url="${BASH_REMATCH[1]}@${BASH_REMATCH[3]}"
    local encoded=${BASH_REMATCH[2]}
    pg_password=$(printf '%b' "${encoded//%/\\x}")
  else
    pg_url=$url
    pg_password=""
  fi
}

# Run a PostgreSQL client with PGPASSWORD set for it alone (when the URL had a password; else libpq's own
# PGPASSWORD / PGPASSFILE / ~/.pgpass apply as usual).
with_password() {
  if [ -n "${pg_password:-}" ]; then PGPASSWORD=$pg_password "$@"; else "$@"; fi
}

# The URL without its password, for messages.
redact_url() {
  echo "$1" | sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#'
}

# The folder holding pg_dump/pg_restore: PG_BINDIR, else the newest /usr/lib/postgresql/*/bin, else PATH.
# (pg_dump must be at least as new as the server; the newest installed is the best guess.)
pg_bindir() {
  local tool=$1 d
  if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/$tool" ]; then echo "$PG_BINDIR"; return 0; fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do
    [ -x "$d/$tool" ] && { echo "$d"; return 0; }
  done
  if command -v "$tool" >/dev/null 2>&1; then dirname "$(command -v "$tool")"; return 0; fi
  echo "$tool not found: install the PostgreSQL client (Debian: apt-get install -y postgresql-client-15) or set PG_BINDIR" >&2
  return 1
}
