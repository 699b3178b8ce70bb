#!/usr/bin/env python3
"""Render the nginx templates of this folder into ready-to-use config files (standard library only).

    python3 nginx/render.py --out DIR [--set NAME=VALUE ...]

writes DIR/aitrader.conf (plain HTTP site), DIR/aitrader-tls.conf (HTTPS site) and DIR/nginx.conf (a complete
main config around SITE_FILE, for `nginx -p PREFIX -c DIR/nginx.conf`). Templates use `{{NAME}}` placeholders
(nginx's own `$variables` are left alone) and `#@include FILE` lines, expanded in place.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Production defaults: the layout nginx/install.sh creates (code in /opt/aitrader, services on localhost).
DEFAULTS: dict[str, str] = {
    "LISTEN": "80",
    "SERVER_NAME": "_",
    "WEB_ROOT": "/opt/aitrader/web",
    "API_UPSTREAM": "127.0.0.1:8000",
    "AGENT_UPSTREAM": "127.0.0.1:8001",
    "API_RATE": "20r/s",
    "API_BURST": "40",
    "AGENT_RATE": "5r/s",
    "AGENT_BURST": "10",
    "MAX_BODY": "1m",
    # Open SSE streams (/api/stream, /agent/chat, /agent/mcp): per client address, and in total.
    "STREAMS_PER_CLIENT": "8",
    "STREAMS_TOTAL": "200",
    "TLS_LISTEN": "443",
    "TLS_CERT": "/etc/aitrader/tls/fullchain.pem",
    "TLS_KEY": "/etc/aitrader/tls/privkey.pem",
    "ACME_ROOT": "/var/www/letsencrypt",
    # nginx.conf only
    "PREFIX": "/var/lib/aitrader-nginx",
    "SITE_FILE": "/etc/nginx/conf.d/aitrader.conf",
    "MIME_TYPES": "/etc/nginx/mime.types",
    "WORKER_PROCESSES": "auto",
    "WORKER_USER": "",
}

OUTPUTS = {
    "aitrader.conf": "aitrader.conf.template",
    "aitrader-tls.conf": "aitrader-tls.conf.template",
    "nginx.conf": "nginx.conf.template",
}

PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
INCLUDE = re.compile(r"^#@include[ \t]+(\S+)[ \t]*$", re.MULTILINE)
# A value is pasted into nginx syntax: refuse anything that could end a directive or open a block.
UNSAFE_VALUE = re.compile(r"[;{}\n\r\"'#]")
RATE = re.compile(r"^\d+r/[sm]$")
SIZE = re.compile(r"^\d+[kKmMgG]?$")


class RenderError(ValueError):
    pass


def validate(values: dict[str, str]) -> None:
    for name, value in values.items():
        if UNSAFE_VALUE.search(value):
            raise RenderError(f"{name}: value {value!r} contains one of ; {{ }} quotes # or a newline")
    for name in ("API_RATE", "AGENT_RATE"):
        if not RATE.match(values[name]):
            raise RenderError(f"{name}: expected a rate like 20r/s or 300r/m, got {values[name]!r}")
    for name in ("API_BURST", "AGENT_BURST", "STREAMS_PER_CLIENT", "STREAMS_TOTAL"):
        if not values[name].isdigit():
            raise RenderError(f"{name}: expected a whole number, got {values[name]!r}")
    if not SIZE.match(values["MAX_BODY"]):
        raise RenderError(f"MAX_BODY: expected a size like 1m or 512k, got {values['MAX_BODY']!r}")
    for name in ("LISTEN", "TLS_LISTEN", "API_UPSTREAM", "AGENT_UPSTREAM", "WEB_ROOT", "SERVER_NAME"):
        if not values[name].strip():
            raise RenderError(f"{name}: must not be empty")


def expand_includes(text: str, base: Path, depth: int = 0) -> str:
    if depth > 4:
        raise RenderError("#@include nested too deeply")
    return INCLUDE.sub(
        lambda m: expand_includes((base / m.group(1)).read_text(encoding="utf-8"), base, depth + 1).rstrip("\n"), text
    )


def render_text(template: str, values: dict[str, str], base: Path = HERE) -> str:
    text = expand_includes(template, base)
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise RenderError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def render_all(out_dir: Path, overrides: dict[str, str] | None = None) -> dict[str, Path]:
    """Render every output into `out_dir`; returns {output name: path}."""
    values = {**DEFAULTS, **(overrides or {})}
    unknown = sorted(set(overrides or {}) - set(DEFAULTS))
    if unknown:
        raise RenderError(f"unknown setting(s): {', '.join(unknown)} (known: {', '.join(DEFAULTS)})")
    validate(values)
    values["USER_DIRECTIVE"] = (
        f"user {values['WORKER_USER']};"
        if values["WORKER_USER"]
        else "# user: nginx's default (set WORKER_USER to change)"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for output, template in OUTPUTS.items():
        path = out_dir / output
        path.write_text(render_text((HERE / template).read_text(encoding="utf-8"), values), encoding="utf-8")
        written[output] = path
    return written


def parse_sets(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise RenderError(f"--set expects NAME=VALUE, got {pair!r}")
        out[name.strip()] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="folder for the rendered files")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"override a default; names: {', '.join(DEFAULTS)}",
    )
    args = parser.parse_args(argv)
    try:
        written = render_all(args.out, parse_sets(args.set))
    except RenderError as exc:
        print(f"render.py: {exc}", file=sys.stderr)
        return 2
    for path in written.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
