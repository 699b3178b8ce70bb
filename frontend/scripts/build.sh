#!/usr/bin/env bash
# Install the pinned front-end packages (when the lockfile changed) and build frontend/dist.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM="$(bash scripts/ensure-pnpm.sh)"
stamp=node_modules/.lock.sha
want=$(sha256sum pnpm-lock.yaml package.json | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # Progress on stderr (the first install takes a while; silence reads as a hang).
  echo "==> installing the web app's packages (pnpm install; the first time takes a minute)..." >&2
  "$PNPM" install --frozen-lockfile --reporter=silent
  echo "$want" > "$stamp"
fi
# Rebuild only when a source file is newer than the last build.
if [ ! -f dist/index.html ] || [ -n "$(find src index.html vite.config.ts package.json tsconfig.json tsconfig.app.json -newer dist/index.html -print -quit)" ]; then
  echo "==> building the web app (frontend/dist)..." >&2
  "$PNPM" run --silent build >/dev/null
  echo "==> web app built" >&2
fi
