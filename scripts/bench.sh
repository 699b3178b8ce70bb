#!/usr/bin/env bash
# `make bench`: run every benchmark in bench/ (each prints its own figures). Starts a project-local PostgreSQL for
# the benchmarks that run the real services, unless BENCH_DATABASE_URL or DATABASE_URL is set.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
started_pg=0
if [ -z "${BENCH_DATABASE_URL:-}" ]; then
  if [ -n "${DATABASE_URL:-}" ]; then export BENCH_DATABASE_URL="$DATABASE_URL"; else
    port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    scripts/pg.sh stop pgbench >/dev/null 2>&1 || true
    export BENCH_DATABASE_URL=$(scripts/pg.sh start pgbench "$port" aitrader_bench); started_pg=1
  fi
fi
trap '[ "$started_pg" = 1 ] && scripts/pg.sh stop pgbench' EXIT
if ! command -v wrk >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 || echo "(wrk not installable: using the Python load generator)"
fi
status=0
for b in ${BENCHES:-bench/bench_*.py}; do
  echo "=== $b"
  .venv/bin/python "$b" || { echo "FAILED: $b"; status=1; }
  echo
done
if [ -x frontend/scripts/budget.sh ]; then echo "=== front-end bundle budget"; frontend/scripts/budget.sh || status=1; fi
exit $status
