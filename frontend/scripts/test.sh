#!/usr/bin/env bash
# Front-end checks for `make test`: install, type-check + build, unit tests (vitest), bundle budget.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
PNPM="$(bash scripts/ensure-pnpm.sh)"
"$PNPM" run --silent test
"$PNPM" run --silent budget
