#!/usr/bin/env bash
# Install (or upgrade) the artifact made by nginx/build.sh on this server. Run as root from the artifact folder:
#   sudo ./install.sh [--prefix DIR]
# - creates the system users `aitrader` (the trading API) and `aitrader-agent` (the agent), no login shell, no home
# - copies app/, web/ (and venv/, or creates it from requirements.txt) into PREFIX; the previous app is kept as app.prev
# - creates /etc/aitrader/aitrader.env (the API's settings, OKX keys included; root:aitrader, mode 640) from
#   .env.example, and /etc/aitrader/agent.env (the agent's; root:aitrader-agent, mode 640) from the API's file
#   without its OKX credentials, when they do not exist: edit them. Every run re-applies owners and modes and
#   strips OKX credential lines from agent.env (the agent reaches OKX only through the API and its risk guard).
# - installs the systemd units and /etc/nginx/conf.d/aitrader.conf, checks nginx's config
# It never starts, restarts or enables anything: the printed next steps do that.
# DESTDIR=/some/dir installs under that folder instead of / and skips user creation, chown and system commands
# (for packaging and tests).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
default_prefix=/opt/aitrader
prefix=$default_prefix
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
dest=${DESTDIR:-}
system=1
[ -n "$dest" ] && system=0
if [ "$system" = 1 ] && [ "$(id -u)" != 0 ]; then echo "install.sh: run as root (sudo)" >&2; exit 1; fi
[ "$prefix" = "$default_prefix" ] || echo "install.sh: note: the units and nginx config were rendered for $default_prefix; re-run nginx/build.sh --prefix $prefix" >&2

if [ "$system" = 1 ]; then
  for user in aitrader aitrader-agent; do
    id "$user" >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir "$prefix" --shell /usr/sbin/nologin "$user"
  done
  # The API's group is the API's alone: whoever else is in it could read the OKX keys.
  others=$(getent group aitrader | cut -d: -f4)
  [ -z "$others" ] || echo "install.sh: warning: group aitrader also holds '$others'; they can read /etc/aitrader/aitrader.env (OKX keys)" >&2
fi

target=$dest$prefix
mkdir -p "$target"
rm -rf "$target/app.new"
cp -R "$here/app" "$target/app.new"
if [ -d "$target/app" ]; then rm -rf "$target/app.prev"; mv "$target/app" "$target/app.prev"; fi
mv "$target/app.new" "$target/app"
rm -rf "$target/web"; cp -R "$here/web" "$target/web"

if [ -d "$here/venv" ]; then
  rm -rf "$target/venv"; cp -R "$here/venv" "$target/venv"
  # The venv links to the interpreter it was built with (pyvenv.cfg `executable`): it must exist here too.
  if ! "$target/venv/bin/python" -c 'import litestar, fastapi, psycopg' 2>/dev/null; then
    echo "install.sh: the artifact's venv does not run here (it needs $(sed -n 's/^executable *= *//p' "$here/venv/pyvenv.cfg"))." >&2
    echo "  Build the artifact with nginx/build.sh --no-venv and let install.sh create the venv on this machine." >&2
    exit 1
  fi
elif [ "$system" = 1 ]; then
  python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
  [ -x "$target/venv/bin/python" ] || python3 -m venv "$target/venv"
  "$target/venv/bin/python" -m pip install --disable-pip-version-check -q -r "$target/app/requirements.txt"
else
  echo "install.sh: the artifact has no venv and DESTDIR is set: create $prefix/venv on the target (python3 -m venv; pip install -r app/requirements.txt)" >&2
fi

envdir=$dest/etc/aitrader
mkdir -p "$envdir"
chmod 755 "$envdir"
# OKX credential assignments (the agent's file must hold none of them).
okx_credentials='^[[:space:]]*(export[[:space:]]+)?OKX_(API_KEY|API_SECRET|PASSPHRASE)[[:space:]]*='
new_env=0
if [ ! -f "$envdir/aitrader.env" ]; then
  (umask 077; cp "$here/app/.env.example" "$envdir/aitrader.env")
  new_env=1
fi
if [ ! -f "$envdir/agent.env" ]; then
  {
    echo "# The agent's settings (nginx/install.sh made this from aitrader.env without the OKX credentials)."
    echo "# Keep DATABASE_URL and API_TOKEN equal to the API's; never add OKX keys here."
    grep -Ev "$okx_credentials" "$envdir/aitrader.env" || true
  } > "$envdir/agent.env.new"
  mv "$envdir/agent.env.new" "$envdir/agent.env"
  new_env=1
elif grep -Eq "$okx_credentials" "$envdir/agent.env"; then
  grep -Ev "$okx_credentials" "$envdir/agent.env" > "$envdir/agent.env.new" || true
  mv "$envdir/agent.env.new" "$envdir/agent.env"
  echo "install.sh: removed OKX credentials from /etc/aitrader/agent.env (they belong to the API alone)" >&2
fi
chmod 640 "$envdir/aitrader.env" "$envdir/agent.env"
if [ "$system" = 1 ]; then
  chown root:aitrader "$envdir/aitrader.env"
  chown root:aitrader-agent "$envdir/agent.env"
fi

mkdir -p "$dest/etc/systemd/system" "$dest/etc/nginx/conf.d"
cp "$here/systemd/aitrader-api.service" "$here/systemd/aitrader-agent.service" "$dest/etc/systemd/system/"
cp "$here/nginx/aitrader.conf" "$dest/etc/nginx/conf.d/aitrader.conf"

if [ "$system" = 1 ]; then
  chown -R root:root "$target/app" "$target/web"
  chmod -R a+rX "$target/web"
  systemctl daemon-reload
  nginx -t
fi

cat >&2 <<EOF
AiTrader installed in $target.
Next steps:
$([ "$new_env" = 1 ] && echo "  - edit /etc/aitrader/aitrader.env (the API): DATABASE_URL, API_TOKEN (openssl rand -hex 32), OKX keys
  - edit /etc/aitrader/agent.env (the agent): the same DATABASE_URL and API_TOKEN, the DeepSeek key; no OKX keys")
  - systemctl enable --now aitrader-api aitrader-agent   (upgrade: systemctl restart aitrader-api aitrader-agent)
  - systemctl reload nginx     (HTTPS: use nginx/aitrader-tls.conf instead; see the README's operations section)
  - check: curl -s http://127.0.0.1/api/health
EOF
