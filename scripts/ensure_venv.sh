#!/usr/bin/env bash
# Create .venv and install the locked Python dependencies (requirements-dev.txt: runtime + test, every package
# pinned with its hashes, made from pyproject.toml by `make lock`) when the lock changed since the last install.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${PYTHON:-python3}
stamp=.venv/.requirements.sha
lock=requirements-dev.txt
want=$(sha256sum "$lock" | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
# Progress on stderr: the first install takes a minute or two, and silence reads as a hang.
began=$SECONDS
if [ ! -x .venv/bin/python ]; then
  echo "==> creating the Python environment (.venv)" >&2
  "$py" -m venv .venv
fi
echo "==> installing the Python packages of $lock into .venv (the first time takes a minute or two)..." >&2
# (grep drops pip's notices about this machine's local package mirrors; pip's own exit status is kept)
.venv/bin/pip install --disable-pip-version-check -q --require-hashes -r "$lock" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
[ "${PIPESTATUS[0]}" = 0 ] || { echo "pip install failed" >&2; exit 1; }
echo "$want" > "$stamp"
echo "==> Python packages ready ($((SECONDS - began)) s)" >&2
