#!/usr/bin/env bash
# `make bench`: run every benchmark in bench/ (each prints its own figures).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
status=0
for b in bench/bench_*.py; do
  echo "=== $b"
  .venv/bin/python "$b" || { echo "FAILED: $b"; status=1; }
  echo
done
exit $status
