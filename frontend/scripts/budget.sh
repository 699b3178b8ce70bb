#!/usr/bin/env bash
# Bundle budget for `make bench`: gzipped initial JavaScript of the built app (goal <= 250 KB).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
PNPM="$(bash scripts/ensure-pnpm.sh)"
"$PNPM" run --silent budget
