#!/usr/bin/env bash
# Installs the pnpm version pinned in frontend/package.json ("packageManager") into the
# project-local folder <repo>/.tools (never globally) and prints the pnpm executable's path.
# Usage:  PNPM="$(bash frontend/scripts/ensure-pnpm.sh)" && "$PNPM" install --frozen-lockfile
set -euo pipefail

frontend_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="$(cd "$frontend_dir/.." && pwd)/.tools"
wanted="$(node -e 'const p=require(process.argv[1]); const m=/^pnpm@([^+]+)/.exec(p.packageManager||""); if(!m){process.exit(1)}; console.log(m[1])' "$frontend_dir/package.json")" \
  || { echo "ensure-pnpm: frontend/package.json has no \"packageManager\": \"pnpm@X\"" >&2; exit 1; }
pnpm_bin="$tools_dir/node_modules/.bin/pnpm"

installed=""
if [ -x "$pnpm_bin" ]; then
  installed="$("$pnpm_bin" --version 2>/dev/null || true)"
fi
if [ "$installed" != "$wanted" ]; then
  echo "ensure-pnpm: installing pnpm@$wanted into $tools_dir" >&2
  mkdir -p "$tools_dir"
  # stdout carries only the path; npm's chatter goes to stderr.
  npm install --prefix "$tools_dir" --no-audit --no-fund --loglevel=error "pnpm@$wanted" >&2
fi
echo "$pnpm_bin"
