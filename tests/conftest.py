"""Session-wide fixtures: a real PostgreSQL database per test session.

`make test` starts a project-local cluster and exports TEST_DATABASE_URL (or DATABASE_URL).
Each test that needs a database gets a freshly created, uniquely named database on that server.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, scratch_database


def _server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        # Fail, not skip: a skipped database test reads as a pass in a summary nobody scrolls through.
        pytest.fail(
            "no TEST_DATABASE_URL/DATABASE_URL: run the suite with `make test` (it starts a PostgreSQL)", pytrace=False
        )
    return url


@pytest.fixture
def fresh_database_url() -> str:
    """A new empty database (dropped after the test)."""
    with scratch_database(_server_url(), "t") as url:
        yield url


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    return d


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="module")
def module_database_url() -> str:
    """A new empty database shared by the tests of one module (dropped afterwards)."""
    with scratch_database(_server_url(), "m") as url:
        yield url
