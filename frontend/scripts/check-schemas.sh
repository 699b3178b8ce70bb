#!/usr/bin/env bash
# The committed OpenAPI documents must be exactly what the services export now, and the generated
# types must be exactly what those documents give: the app's types cannot drift from the services.
# Fix with:  ../.venv/bin/python ../scripts/export_openapi.py && pnpm gen:api
set -euo pipefail
cd "$(dirname "$0")/.."
python=../.venv/bin/python
[ -x "$python" ] || { echo "check-schemas: $python missing (make test creates the venv)" >&2; exit 1; }
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
# the export script's own functions, written to a temporary folder (its main() would overwrite openapi/)
AITRADER_ENV_FILE=/dev/null "$python" - "$fresh" <<'PY'
import json, sys
from pathlib import Path
sys.path.insert(0, str(Path("../scripts").resolve()))
import export_openapi
out = Path(sys.argv[1])
for name, build in (("api.json", export_openapi.api_schema), ("agent.json", export_openapi.agent_schema)):
    (out / name).write_text(json.dumps(build(), indent=2, sort_keys=True) + "\n")
PY
status=0
for name in api.json agent.json; do
  if ! diff -q "openapi/$name" "$fresh/$name" >/dev/null; then
    echo "check-schemas: openapi/$name differs from what the service exports now:" >&2
    diff -u "openapi/$name" "$fresh/$name" | head -40 >&2 || true
    status=1
  fi
done
PNPM="$(bash scripts/ensure-pnpm.sh)"
"$PNPM" run --silent gen:api --check || status=1
if [ "$status" != 0 ]; then
  echo "check-schemas: run  ../.venv/bin/python ../scripts/export_openapi.py && pnpm gen:api  (in frontend/)" >&2
else
  echo "check-schemas: openapi/*.json match the services; generated types are current"
fi
exit $status
