#!/usr/bin/env bash
# Create .venv and install the pinned Python dependencies when requirements.txt changed since the last install.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${PYTHON:-python3}
stamp=.venv/.requirements.sha
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
[ -x .venv/bin/python ] || "$py" -m venv .venv
.venv/bin/pip install --disable-pip-version-check -q -r requirements.txt
echo "$want" > "$stamp"
