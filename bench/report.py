"""What every benchmark report shares: where results go, the machine and versions, and the
events-per-second slope that removes start-up."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def rate(points: list[tuple[int, dict]], clock: str = "execute_s") -> dict | None:
    """Events/s excluding start-up: the slope between the two largest sizes (execution time, or
    with ``clock="cpu_s"`` CPU time of the process tree); with one size, events / time."""
    ok = [(n, r[clock]) for n, r in points if r.get("ok") and r.get(clock)]
    if not ok:
        return None
    if len(ok) >= 2:
        (n1, t1), (n2, t2) = ok[-2], ok[-1]
        if t2 > t1:
            return {"events_per_s": round((n2 - n1) / (t2 - t1)), "method": f"slope {n1}->{n2}"}
        # The larger run was not slower: noise (other load) swamped the difference.
        return {"events_per_s": round(n2 / t2), "method": f"{n2} / time (slope invalid)", "noisy": True}
    n, t_ = ok[-1]
    return {"events_per_s": round(n / t_), "method": f"{n} / time"}


def versions() -> dict:
    from importlib.metadata import version

    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    return {
        "python": platform.python_version(),
        "apache-flink": version("apache-flink"),
        "java": java[0] if java else "?",
    }


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    mem_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    return {"nproc": os.cpu_count(), "memory_gb": round(mem_kb / 1024**2, 1), "cpu": cpu, "os": platform.platform()}


def header(report: dict) -> str:
    m, v = report["machine"], report["versions"]
    return (
        f"Benchmark `{report['name']}`, {report['date']}: {m['nproc']} cores ({m['cpu']}), {m['memory_gb']} GB; "
        f"PyFlink {v['apache-flink']}, {v['java']}, Python {v['python']}. Command: `{report['command']}`."
    )


def new_report(name: str, command: str, **fields) -> dict:
    """A benchmark report's head: its name, date, machine, versions and command; ``jobs`` to fill."""
    return {
        "name": name,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(),
        **fields,
        "command": command,
        "jobs": [],
    }


def save(report: dict, results: Path, table: str) -> None:
    """``<results>/<name>.json`` and ``.md``; the table is printed too."""
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{report['name']}.json").write_text(json.dumps(report, indent=1) + "\n")
    (results / f"{report['name']}.md").write_text(table)
    print("\n" + table)
