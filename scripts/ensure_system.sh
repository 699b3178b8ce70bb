#!/usr/bin/env bash
# System packages the test suite needs (browser for end-to-end tests, nginx for the proxy tests).
# Installed with apt when missing and when we may (root); otherwise say exactly what to install.
set -euo pipefail
need=()
for pair in "chromium:/usr/bin/chromium" "nginx:/usr/sbin/nginx" "docker-compose:/usr/bin/docker-compose" "fonts-noto-cjk:/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"; do
  pkg=${pair%%:*}; path=${pair#*:}
  [ -x "$path" ] || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing system packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "missing system packages: ${need[*]} (Debian: sudo apt-get install -y ${need[*]})" >&2
  exit 1
fi
