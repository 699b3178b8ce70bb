#!/usr/bin/env bash
# Front-end checks for `make test` (after the Python suites, with TEST_DATABASE_URL exported):
# install, type-check (tsc) + build, lint (ESLint with the React rules), schema drift, unit and component
# tests (vitest, Testing Library), bundle budget, browser e2e.
# Every step runs even when an earlier one failed; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PNPM="$(bash scripts/ensure-pnpm.sh)" || exit 1
failed=()
step() {
  local name=$1
  shift
  echo "== frontend: $name"
  if ! "$@"; then
    failed+=("$name")
    echo "== frontend: $name FAILED" >&2
  fi
}
step "install and build" bash scripts/build.sh
step "type-check (app, unit tests, e2e)" "$PNPM" run --silent typecheck
step "lint (ESLint, React rules; fails on any finding)" "$PNPM" run --silent lint
step "schemas match the services" bash scripts/check-schemas.sh
step "unit and component tests" "$PNPM" run --silent test
step "bundle budget" "$PNPM" run --silent budget
step "browser end-to-end" bash scripts/e2e.sh
if [ ${#failed[@]} -gt 0 ]; then
  echo "frontend: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "frontend: all checks passed"
