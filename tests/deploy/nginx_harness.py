"""Run the project's real nginx config (rendered from nginx/*.template) with `nginx -p DIR -c FILE` on free ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.helpers import REPO_ROOT, free_port, stop_process

sys.path.insert(0, str(REPO_ROOT / "nginx"))
import render  # noqa: E402  (nginx/render.py: standard library only, not a package)

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


def nginx_binary() -> str | None:
    """The nginx executable; installs Debian's package once when it is missing and apt is usable."""
    found = shutil.which("nginx") or next((p for p in NGINX_CANDIDATES if os.access(p, os.X_OK)), None)
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    subprocess.run(["apt-get", "install", "-y", "-q", "nginx"], capture_output=True, timeout=300, check=False)
    return shutil.which("nginx") or next((p for p in NGINX_CANDIDATES if os.access(p, os.X_OK)), None)


@dataclass
class RunningNginx:
    url: str
    port: int
    prefix: Path
    process: subprocess.Popen

    def error_log(self) -> str:
        path = self.prefix / "logs" / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def render_into(prefix: Path, site: str = "aitrader.conf", **settings: str) -> Path:
    """Render the templates for a private nginx under `prefix`; returns the main config file."""
    for sub in ("logs", "tmp", "conf"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    values = {
        "PREFIX": str(prefix),
        "SITE_FILE": str(prefix / "conf" / site),
        "WORKER_PROCESSES": "1",
        # As root, nginx's workers would run as `nobody` and could not read the test's private temp folders.
        "WORKER_USER": "root" if os.geteuid() == 0 else "",
        **settings,
    }
    return render.render_all(prefix / "conf", values)["nginx.conf"]


def check_config(nginx: str, prefix: Path, conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [nginx, "-t", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "logs" / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )


@contextlib.contextmanager
def running_nginx(
    nginx: str, prefix: Path, *, web_root: Path, api_upstream: str, agent_upstream: str, **settings: str
) -> Iterator[RunningNginx]:
    port = free_port()
    conf = render_into(
        prefix,
        LISTEN=f"127.0.0.1:{port}",
        WEB_ROOT=str(web_root),
        API_UPSTREAM=api_upstream,
        AGENT_UPSTREAM=agent_upstream,
        **settings,
    )
    checked = check_config(nginx, prefix, conf)
    assert checked.returncode == 0, checked.stderr
    proc = subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "logs" / "error.log"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=open(prefix / "logs" / "stderr.log", "ab"),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"nginx exited with {proc.returncode}: {(prefix / 'logs' / 'error.log').read_text(errors='replace')}"
                )
            try:
                # index.html is static: this does not touch the upstreams (they may share this thread's event loop).
                httpx.get(f"http://127.0.0.1:{port}/index.html", timeout=0.5)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield RunningNginx(url=f"http://127.0.0.1:{port}", port=port, prefix=prefix, process=proc)
    finally:
        stop_process(proc)


def write_web_dist(root: Path) -> Path:
    """A stand-in for frontend/dist: index.html and one hashed asset."""
    (root / "assets").mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text(
        '<!doctype html><html><head><script type="module" src="/assets/app-3f2a1c.js"></script></head><body><div id="root">AiTrader test page</div></body></html>'
    )
    (root / "assets" / "app-3f2a1c.js").write_text("console.log('aitrader');\n" * 200)
    return root
