#!/usr/bin/env bash
# Build a deployable artifact for systemd + nginx:
#   bash nginx/build.sh [--out DIR] [--prefix /opt/aitrader] [--server-name NAME] [--web-dist DIR] [--no-venv] [--python PY]
# Writes DIR (default dist-deploy/):
#   app/       the Python code (api_server, agent, okxsim, shared, migrations), requirements.txt, .env.example, db scripts
#   venv/      a virtualenv with requirements.txt installed (skipped with --no-venv: install.sh then creates it)
#   web/       the built web app (frontend/dist)
#   nginx/     aitrader.conf (HTTP) and aitrader-tls.conf (HTTPS) rendered for PREFIX, plus the templates and
#              render.py to re-render them on the server
#   systemd/   aitrader-api.service (User=aitrader, /etc/aitrader/aitrader.env), aitrader-agent.service
#              (User=aitrader-agent, /etc/aitrader/agent.env: no OKX credentials)
#   install.sh copies all of it into PREFIX, /etc/systemd/system and /etc/nginx/conf.d (run it on the server as root)
# Database settings are not part of the artifact: they come only from /etc/aitrader/*.env on the server.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

out=dist-deploy prefix=/opt/aitrader server_name=_ web_dist="" make_venv=1 python=${PYTHON:-python3}
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?}; shift 2 ;;
    --prefix) prefix=${2:?}; shift 2 ;;
    --server-name) server_name=${2:?}; shift 2 ;;
    --web-dist) web_dist=${2:?}; shift 2 ;;
    --no-venv) make_venv=0; shift ;;
    --python) python=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$prefix" in /*) ;; *) echo "build.sh: --prefix must be an absolute path, got $prefix" >&2; exit 2 ;; esac
step() { echo "==> $*" >&2; }

# 1. The web app.
if [ -z "$web_dist" ]; then
  if [ -x frontend/scripts/build.sh ]; then
    step "building the web app (frontend/scripts/build.sh)"
    frontend/scripts/build.sh
    web_dist=frontend/dist
  elif [ -f frontend/dist/index.html ]; then
    echo "build.sh: frontend/scripts/build.sh is missing; using the existing frontend/dist (built $(date -r frontend/dist/index.html '+%F %T'))" >&2
    web_dist=frontend/dist
  else
    echo "build.sh: cannot build the web app: frontend/scripts/build.sh is missing and frontend/dist has no index.html." >&2
    echo "  Build it first (cd frontend && pnpm install --frozen-lockfile && pnpm run build) or pass --web-dist DIR." >&2
    exit 1
  fi
fi
[ -f "$web_dist/index.html" ] || { echo "build.sh: $web_dist/index.html not found: not a built web app" >&2; exit 1; }

# 2. A fresh artifact folder.
step "writing $out"
rm -rf "$out"
mkdir -p "$out/app/scripts" "$out/web" "$out/nginx" "$out/systemd"
for d in api_server agent okxsim shared migrations; do
  [ -d "$d" ] && cp -R "$d" "$out/app/"
done
cp requirements.txt pyproject.toml .env.example "$out/app/"
cp scripts/db_backup.sh scripts/db_restore.sh scripts/db_common.sh "$out/app/scripts/"
find "$out/app" \( -name __pycache__ -o -name '*.pyc' \) -prune -exec rm -rf {} +
cp -R "$web_dist/." "$out/web/"

# 3. nginx site files for this prefix (render.py also goes along, to re-render on the server, e.g. for TLS paths).
step "rendering nginx config"
"$python" nginx/render.py --out "$out/nginx" --set WEB_ROOT="$prefix/web" --set SERVER_NAME="$server_name" >/dev/null
rm -f "$out/nginx/nginx.conf"  # the standalone main config is for tests; servers include the site into their own
mkdir -p "$out/nginx/templates"
cp -R nginx/render.py nginx/*.template nginx/snippets "$out/nginx/templates/"

# 4. systemd units for this prefix.
for unit in aitrader-api.service aitrader-agent.service; do
  sed "s#/opt/aitrader#$prefix#g" "nginx/systemd/$unit" > "$out/systemd/$unit"
done
sed "s#^default_prefix=.*#default_prefix=$prefix#" nginx/install.sh > "$out/install.sh"
chmod +x "$out/install.sh" "$out/app/scripts/"*.sh

# 5. The Python environment.
if [ "$make_venv" = 1 ]; then
  step "creating $out/venv and installing requirements.txt"
  "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
  "$python" -m venv "$out/venv"
  "$out/venv/bin/python" -m pip install --disable-pip-version-check -q -r requirements.txt
fi

{
  echo "built_at=$(date -u +%FT%TZ)"
  echo "commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+local-changes')"
  echo "prefix=$prefix"
  echo "venv=$([ "$make_venv" = 1 ] && echo included || echo 'created by install.sh')"
} > "$out/BUILD_INFO"
step "done: $out (copy it to the server and run: sudo $out/install.sh)"
