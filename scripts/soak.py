"""`make soak`: the long fault campaign, the load test and a longer fuzz run, bounded (about 12 minutes).

Everything runs on loopback against real processes on free ports and a PostgreSQL cluster of its own
(`scripts/pg.sh`, removed afterwards): nothing else on the machine is touched.

  1. fault campaign, long: every scenario of tests/faults/campaign.py and exchange_faults.py at scale 3;
     PostgreSQL down 30 s; the API killed and restarted on the same port (as a supervisor would); then
     tests/faults/caps.py (3 × 8 concurrent orders from two API processes vs the exposure cap);
  2. load: 1,000 concurrent manual triggers (stand-in agent counting concurrency), then market-data reads
     for SOAK_READ_SECS (default 300) with the API's RSS sampled from /proc;
  3. schemathesis + property tests with FUZZ_EXAMPLES (default 40) examples per operation.

Writes the fault table (markdown) and every figure (JSON) to SOAK_OUT (default .data/soak/), prints both.
Exit status 0 only when every check held.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.api_server.stand_in_agent import StandInAgent  # noqa: E402
from tests.faults import campaign, exchange_faults  # noqa: E402
from tests.faults.caps import concurrent_caps  # noqa: E402
from tests.faults.load import concurrent_triggers, cpu_note, sustained_reads  # noqa: E402
from tests.faults.processes import DedicatedPostgres, api_process, full_stack, okxsim_process  # noqa: E402
from tests.stack import API_TOKEN  # noqa: E402

SCALE = float(os.environ.get("SOAK_SCALE", "3"))
READ_SECS = float(os.environ.get("SOAK_READ_SECS", "300"))
PG_OUTAGE_SECS = float(os.environ.get("SOAK_PG_OUTAGE_SECS", "30"))
FUZZ_EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "40")
OUT = Path(os.environ.get("SOAK_OUT", ROOT / ".data" / "soak"))
API_SETTINGS = {"AGENT_TIMEOUT_SECS": "20", "ACCOUNT_SYNC_INTERVAL_SECS": "1", "BALANCE_SNAPSHOT_INTERVAL_SECS": "0.5"}


def new_database(server_url: str) -> str:
    name = f"soak_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def fault_campaign(pg: DedicatedPostgres, log_dir: Path) -> list[dict]:
    rows: list[dict] = []
    with full_stack(log_dir, new_database(pg.url), api_extra=API_SETTINGS) as stack:
        for name in (
            "ws_drops",
            "rate_limited",
            "server_errors",
            "latency_spikes",
            "lost_reply",
            "clock_skew",
            "agent_killed",
        ):
            scenario = getattr(campaign, name, None) or getattr(exchange_faults, name)
            rows.append(run_one(name, lambda s=scenario: s(stack, SCALE)))
        rows.append(run_one("api_killed", lambda: campaign.api_killed(stack, SCALE, same_port=True)))
        rows.append(run_one("postgres_outage", lambda: campaign.postgres_outage(stack, pg, 1.0, PG_OUTAGE_SECS)[0]))
    # A system of its own (fresh 10,000 USDT account, two API processes on one new database).
    rows.append(run_one("concurrent_caps", lambda: concurrent_caps(pg.url, log_dir, SCALE)))
    return rows


def run_one(name: str, scenario) -> dict:
    print(f"--- fault: {name}", flush=True)
    began = time.monotonic()
    try:
        row = scenario().row()
    except Exception as exc:  # noqa: BLE001 - a failed scenario is a row of the table, the campaign goes on
        traceback.print_exc()
        row = {
            "fault": name,
            "injected": "",
            "checked": "",
            "result": f"FAILED: {type(exc).__name__}: {str(exc)[:300]}",
            "recovery_secs": None,
        }
    row["duration_secs"] = round(time.monotonic() - began, 1)
    print(json.dumps(row), flush=True)
    return row


def load_test(pg: DedicatedPostgres, log_dir: Path) -> dict:
    with StandInAgent(token=API_TOKEN, delay_secs=0.02) as agent:
        sim_proc, sim = okxsim_process(log_dir)
        with sim_proc:
            api_proc, api = api_process(log_dir, sim, new_database(pg.url), AGENT_BASE_URL=agent.base_url)
            with api_proc:
                began = time.monotonic()
                statuses = asyncio.run(concurrent_triggers(api, 1000))
                trigger_secs = time.monotonic() - began
                print(
                    f"1000 concurrent triggers: {statuses} in {trigger_secs:.1f} s; agent max concurrent {agent.max_concurrent}",
                    flush=True,
                )
                reads = asyncio.run(sustained_reads(api, api_proc.pid, READ_SECS, connections=8, sample_secs=5))
                print(
                    f"reads for {READ_SECS:g} s: {reads['requests']} requests ({reads['rps']}/s), errors {reads['errors']}, "
                    f"RSS {reads['rss_early_kib']} → {reads['rss_late_kib']} KiB ({reads['growth_pct']:+.1f} %)",
                    flush=True,
                )
                return {
                    "triggers": {
                        "statuses": statuses,
                        "seconds": round(trigger_secs, 1),
                        "agent_max_concurrent": agent.max_concurrent,
                        "agent_violations": agent.concurrent_violations,
                        "agent_calls": len(agent.calls),
                    },
                    "reads": reads,
                }


def fuzz(pg: DedicatedPostgres) -> dict:
    env = {**os.environ, "TEST_DATABASE_URL": pg.url, "FUZZ_EXAMPLES": FUZZ_EXAMPLES}
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/fuzz"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    summary = (done.stdout.strip().splitlines() or [""])[-1]
    print(f"fuzz ({FUZZ_EXAMPLES} examples per operation): {summary}", flush=True)
    return {
        "examples": FUZZ_EXAMPLES,
        "summary": summary,
        "ok": done.returncode == 0,
        "seconds": round(time.monotonic() - began, 1),
    }


def table(rows: list[dict]) -> str:
    lines = ["| fault | injected | checked | result | recovery (s) |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['fault']} | {r['injected']} | {r['checked']} | {r['result']} | {r['recovery_secs']} |")
    return "\n".join(lines)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    log_dir = Path(tempfile.mkdtemp(prefix="soak-logs-"))
    began = time.monotonic()
    machine = cpu_note()
    with DedicatedPostgres("aitrader_soak") as pg:
        faults = fault_campaign(pg, log_dir)
        load = load_test(pg, log_dir)
        fuzzed = fuzz(pg)
    report = {
        "machine": machine,
        "started_load": machine,
        "seconds": round(time.monotonic() - began, 1),
        "faults": faults,
        "load": load,
        "fuzz": fuzzed,
        "logs": str(log_dir),
    }
    (OUT / "soak.json").write_text(json.dumps(report, indent=2))
    (OUT / "faults.md").write_text(table(faults) + "\n")
    print("\n" + table(faults))
    print(f"\nsoak finished in {report['seconds']} s; figures in {OUT}; service logs in {log_dir}")
    triggers = load["triggers"]
    ok = (
        all(r["result"] == "pass" for r in faults)
        and triggers["statuses"] == {202: 1000}
        and triggers["agent_max_concurrent"] == 1
        and load["reads"]["errors"] == 0
        and load["reads"]["growth_pct"] < 20
        and fuzzed["ok"]
    )
    print("SOAK " + ("PASSED" if ok else "FOUND PROBLEMS (see the table and figures above)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
