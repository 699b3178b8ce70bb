"""The fault campaign, short version (`make test`): one system on a PostgreSQL cluster of its own, each fault
injected in turn, recovery and record integrity checked (see `campaign.py`). The long version: `scripts/soak.py`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults import campaign, exchange_faults
from tests.faults.caps import concurrent_caps
from tests.faults.processes import DedicatedPostgres, FullStack, full_stack

# Faster failure detection than the defaults, so each fault resolves in seconds.
API_SETTINGS = {"AGENT_TIMEOUT_SECS": "20", "ACCOUNT_SYNC_INTERVAL_SECS": "1", "BALANCE_SNAPSHOT_INTERVAL_SECS": "0.5"}


@pytest.fixture(scope="module")
def pg() -> Iterator[DedicatedPostgres]:
    with DedicatedPostgres() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, pg: DedicatedPostgres) -> Iterator[FullStack]:
    with full_stack(tmp_path_factory.mktemp("fault-logs"), pg.url, api_extra=API_SETTINGS) as running:
        yield running


@pytest.fixture(scope="module")
def results() -> Iterator[list[dict]]:
    rows: list[dict] = []
    yield rows
    if os.environ.get("FAULT_RESULTS"):  # scripts/soak.py and docs/FAULTS.md collect the table from here
        Path(os.environ["FAULT_RESULTS"]).write_text(json.dumps(rows, indent=2))


SCENARIOS = [
    "ws_drops",
    "rate_limited",
    "server_errors",
    "latency_spikes",
    "lost_reply",
    "clock_skew",
    "agent_killed",
    "api_killed",
]


def scenario(name: str):
    return getattr(campaign, name, None) or getattr(exchange_faults, name)


@pytest.mark.parametrize("name", SCENARIOS)
def test_fault(stack: FullStack, results: list[dict], name: str) -> None:
    result = scenario(name)(stack)
    results.append(result.row())
    assert result.result == "pass"


def test_concurrent_orders_from_two_apis_never_exceed_the_exposure_cap(
    tmp_path_factory: pytest.TempPathFactory, pg: DedicatedPostgres, results: list[dict]
) -> None:
    result = concurrent_caps(pg.url, tmp_path_factory.mktemp("caps-logs"))
    results.append(result.row())
    assert result.result == "pass"


@pytest.fixture(scope="module")
def outage(stack: FullStack, pg: DedicatedPostgres, results: list[dict]) -> list:
    result, during = campaign.postgres_outage(stack, pg)  # asserts recovery and record integrity itself
    results.append(result.row())
    return during


def test_postgres_outage_recovery_loses_nothing(outage: list) -> None:
    assert outage, "no request was made during the outage"


def test_postgres_outage_reads_answer_503_at_once(outage: list) -> None:
    assert all(code == 503 and secs < 2.5 for code, secs in outage), outage
