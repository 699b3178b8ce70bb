#!/usr/bin/env bash
# Browser end-to-end suite: headless Debian chromium (playwright-core) against the real stack started
# by the tests through ../scripts/run.py, with a fresh database on the server of TEST_DATABASE_URL.
# Screenshots and the stack's output: frontend/e2e-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  echo "e2e: TEST_DATABASE_URL is not set (make test exports it; or point it at a PostgreSQL you may create databases on)" >&2
  exit 1
fi
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || { echo "e2e: chromium missing: apt-get install -y chromium (make test installs it)" >&2; exit 1; }
bash scripts/build.sh
PNPM="$(bash scripts/ensure-pnpm.sh)"
"$PNPM" run --silent e2e
