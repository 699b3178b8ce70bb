#!/usr/bin/env bash
# `make test`: install what is missing, start a project-local PostgreSQL (unless TEST_DATABASE_URL/DATABASE_URL),
# run every suite: Python (API, agent, simulator, shared), front-end unit tests, browser end-to-end tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/ensure_venv.sh
scripts/ensure_system.sh
started_pg=0
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  if [ -n "${DATABASE_URL:-}" ]; then
    export TEST_DATABASE_URL="$DATABASE_URL"
  else
    port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    scripts/pg.sh stop pgtest >/dev/null 2>&1 || true
    export TEST_DATABASE_URL=$(scripts/pg.sh start pgtest "$port" aitrader_test)
    started_pg=1
  fi
fi
cleanup() { [ "$started_pg" = 1 ] && scripts/pg.sh stop pgtest || true; }
trap cleanup EXIT
status=0
# The web app is built first: the security suite scans the built bundle for secrets.
if [ -x frontend/scripts/build.sh ]; then frontend/scripts/build.sh || status=$?; fi
# Gates: lint, format and types fail the run on any finding (mypy strict where the money rules and shared code live).
if [ $# -eq 0 ]; then
  echo "==> ruff (lint + format check) and mypy" >&2
  .venv/bin/ruff check . || status=1
  .venv/bin/ruff format --check . || status=1
  .venv/bin/mypy --follow-imports=silent shared api_server/trading/risk.py api_server/trading/sizing.py \
    api_server/account/snapshots.py api_server/scheduler/decisions.py || status=1
fi
.venv/bin/python -m pytest -q -p no:cacheprovider "$@" || status=$?
if [ -x frontend/scripts/test.sh ] && [ $# -eq 0 ]; then
  frontend/scripts/test.sh || status=$?
fi
exit $status
