"""Load, short version: 1,000 concurrent manual triggers are all answered and the agent (a stand-in counting
concurrency) never sees two analyses at once; a short sustained read keeps the API's memory flat.
The 5-minute read and the long campaign are in `scripts/soak.py`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.api_server.stand_in_agent import StandInAgent
from tests.faults.load import concurrent_triggers, sustained_reads
from tests.faults.processes import api_process, okxsim_process
from tests.stack import API_TOKEN


def test_a_thousand_concurrent_triggers_one_analysis_at_a_time(fresh_database_url: str, tmp_path: Path) -> None:
    with StandInAgent(token=API_TOKEN, delay_secs=0.02) as agent:
        sim_proc, sim = okxsim_process(tmp_path)
        with sim_proc:
            api_proc, api = api_process(tmp_path, sim, fresh_database_url, AGENT_BASE_URL=agent.base_url)
            with api_proc:
                statuses = asyncio.run(concurrent_triggers(api, 1000))
                assert statuses == {202: 1000}, statuses
                agent.wait_for_calls(1, timeout=30)
                runs = api.get("/api/model/strategy-runs", limit=500).json()
                assert runs and len({r["id"] for r in runs}) == len(runs)
                assert agent.max_concurrent == 1 and agent.concurrent_violations == 0
                assert agent.unauthorized == 0
                # Reads stay flat over a short sustained load (the 5-minute version is in the soak).
                report = asyncio.run(sustained_reads(api, api_proc.pid, seconds=12, connections=4, sample_secs=1))
                assert report["errors"] == 0 and report["requests"] > 100, report
                assert report["growth_pct"] < 25, report
                assert agent.max_concurrent == 1
