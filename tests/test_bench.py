"""The benchmark harness at a tiny size: it runs, and the job and its Flink SQL equivalent agree
record for record (the harness's own guard against a fast wrong job). No timing is asserted."""

import json
import subprocess
import sys

from runner.cli import PROJECT_ROOT
from tools.processes import child_env


def test_bench_smoke_job_and_sql_agree(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--jobs",
            "moving_average",
            "--sizes",
            "400",
            "--keys",
            "20",
            "--paths",
            "job,sql",
            "--name",
            "smoke",
            "--results",
            str(tmp_path),
            "--data-dir",
            str(tmp_path),
        ],
        cwd=PROJECT_ROOT,
        env=child_env(),  # not this process's: a process-mode job here disables a child's gateway
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "smoke.json").read_text())
    [entry] = report["jobs"]
    runs = entry["runs"]["400"]
    assert runs["job"]["ok"] and runs["sql"]["ok"], (runs["job"], runs["sql"], proc.stdout[-3000:])
    check = entry["checks"]["400"]
    assert check["same_as_sql"] and check["compared"] > 0 and check["accounting_ok"]
    assert entry["runs"]["400"]["records_in"] == 400
    assert (tmp_path / "smoke.md").read_text().count("| moving_average |") == 1
