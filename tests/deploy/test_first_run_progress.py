"""`make run` says what it is doing during the first install instead of staying silent: scripts/ensure_venv.sh,
run for real in a scratch checkout (a new .venv, an empty lock file so no package is downloaded)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO_ROOT


def test_the_first_python_install_prints_progress_and_the_next_run_is_quiet(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO_ROOT / "scripts" / "ensure_venv.sh", tmp_path / "scripts" / "ensure_venv.sh")
    (tmp_path / "requirements-dev.txt").write_text("")
    env = {"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "HOME": str(tmp_path)}
    first = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "ensure_venv.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert first.returncode == 0, first.stderr
    lines = [line for line in first.stderr.splitlines() if line.startswith("==> ")]
    assert any("creating the Python environment" in line for line in lines), first.stderr
    assert any("installing the Python packages" in line for line in lines), first.stderr
    assert any("Python packages ready" in line for line in lines), first.stderr
    assert first.stdout == ""  # progress goes to stderr, never into a captured stdout
    again = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "ensure_venv.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0 and again.stderr == "", again.stderr


def test_the_web_app_build_announces_its_steps() -> None:
    # (run.py's own progress lines are checked on a real `make run` in tests/security/test_security.py)
    build = (REPO_ROOT / "frontend" / "scripts" / "build.sh").read_text()
    assert "installing the web app's packages" in build and "building the web app" in build
