"""Run one fault scenario with the API from an older commit, to see a check fail on the code before a fix.

    .venv/bin/python -m tests.faults.against_old_code SCENARIO COMMIT

SCENARIO: `lost_reply`, `latency_spikes`, `clock_skew` (API from COMMIT, today's simulator, whose faults the
scenarios use) or `concurrent_caps` (API and simulator from COMMIT). COMMIT's `api_server`, `shared`, `okxsim`
and `migrations` are unpacked with `git archive` into a temporary directory and the processes start there;
nothing in the checkout changes. The background account sync is slowed to once an hour so it cannot take the
injected fault (the old client does not log a lost reply, so only the request log can show the fault hit).

Exit status 1 when a check failed (expected on the old code), 0 when the scenario passed.
Figures seen on 2026-12-02 are in docs/FAULTS.md.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from tests.faults import exchange_faults, processes
from tests.faults.caps import concurrent_caps
from tests.helpers import REPO_ROOT, wait_for_http


def unpack(commit: str) -> Path:
    tree = Path(tempfile.mkdtemp(prefix=f"old-{commit[:8]}-"))
    archive = subprocess.run(
        ["git", "archive", commit, "api_server", "shared", "okxsim", "migrations"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def start_from(old: Path, names: set[str]):
    def start(self: processes.ServiceProcess) -> processes.ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed by stop()/kill()
        cwd = old if self.name in names else REPO_ROOT  # `python -m` imports from its working directory first
        self.proc = subprocess.Popen(
            self.args, env=self.env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.starts += 1
        wait_for_http(self.health_url, self.start_timeout, self.proc)
        return self

    return start


def main(scenario: str, commit: str) -> int:
    old = unpack(commit)
    processes.ServiceProcess.start = start_from(old, {"api", "okxsim"} if scenario == "concurrent_caps" else {"api"})
    log_dir = Path(tempfile.mkdtemp(prefix="old-code-logs-"))
    print(f"API from {commit} ({old}); logs in {log_dir}", flush=True)
    try:
        with processes.DedicatedPostgres("aitrader_old") as pg:
            if scenario == "concurrent_caps":
                row = concurrent_caps(pg.url, log_dir).row()
            else:
                with processes.full_stack(log_dir, pg.url, api_extra={"ACCOUNT_SYNC_INTERVAL_SECS": "3600"}) as stack:
                    row = getattr(exchange_faults, scenario)(stack).row()
    except AssertionError as exc:
        print(f"CHECK FAILED on {commit}: {exc}")
        return 1
    print(f"passed on {commit}: {row}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
