"""The Kafka source's cost before and after a change: the same job reads the same topics from two
checkouts of the project, in alternating rounds, and one report puts them side by side.

    .venv/bin/python -m bench.kafka_source --baseline 4204521      # the source before per-partition watermarks
    .venv/bin/python -m bench.kafka_source --baseline REV --sizes 100000,400000 --rounds 3

The baseline is a git worktree of ``REV`` (under ``--data-dir``), set up by its own
``scripts/setup``; this checkout is the candidate. Each run is ``python -m jobs.<job> --source kafka
--bounded --sink file`` in a fresh process from that checkout (a MiniCluster), on a topic of
``--partitions`` partitions keyed by user, as a producer would write it. Events per CPU-second are
the slope between the two sizes of the CPU the run's process tree used, so start-up cancels out;
the report gives each round and the median, the candidate's ratio to the baseline, and each run's
late records (the per-partition watermarks change which records are late when partitions
interleave).

Writes ``bench/results/<name>.md`` and ``<name>.json`` (default name ``kafka-source``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path

from bench import data
from bench.report import RESULTS, new_report, save
from bench.worker import cpu_ticks, process_tree
from runner.outputs import read_file_outputs
from tools.kafka_broker import KafkaBroker, produce
from tools.processes import child_env

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: The job and its options: the JVM window build, so that the source's share of the cost shows.
JOB = ("sessions", "--gap", "5min", "--build", "jvm", "--out-of-orderness", "1s")
OUTPUTS = ("sessions", "late", "errors")


def baseline_checkout(rev: str, folder: Path) -> Path:
    """A worktree of ``rev`` with its own environment and jars (its ``scripts/setup``), reused."""
    path = folder / f"baseline-{rev}"
    if not path.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev], check=True)
    subprocess.run([str(path / "scripts" / "setup")], cwd=path, check=True, stdout=subprocess.DEVNULL)
    return path


def run_once(checkout: Path, topic: str, bootstrap: str, out: Path) -> dict:
    """One bounded run of the job from ``checkout``; CPU of its process tree, sampled while it
    runs (the gateway JVM is its child) and taken last from the process itself."""
    argv = [str(checkout / ".venv" / "bin" / "python"), "-m", "jobs." + JOB[0], *JOB[1:]]
    argv += ["--source", "kafka", "--topic", topic, "--bootstrap-servers", bootstrap, "--bounded"]
    argv += ["--group-id", f"bench-{uuid.uuid4().hex[:8]}", "--sink", "file", "--output", str(out)]
    started = time.monotonic()
    job = subprocess.Popen(argv, cwd=checkout, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last: dict[int, int] = {}
    while job.poll() is None:
        for pid in process_tree(job.pid):
            last[pid] = cpu_ticks(pid)
        time.sleep(0.2)  # sampling the CPU of a running process tree
    stderr = job.stderr.read().decode() if job.stderr else ""
    if job.returncode != 0:
        return {"ok": False, "error": stderr.strip().splitlines()[-1:] or [f"exit {job.returncode}"]}
    outputs = read_file_outputs(out, list(OUTPUTS))
    return {
        "ok": True,
        "wall_s": time.monotonic() - started,
        "cpu_s": sum(last.values()) / CLOCK_TICKS,
        "counts": {name: len(records) for name, records in outputs.items()},
    }


def per_cpu_second(small: tuple[int, dict], large: tuple[int, dict]) -> float | None:
    (n1, a), (n2, b) = small, large
    if not (a["ok"] and b["ok"]) or b["cpu_s"] <= a["cpu_s"]:
        return None
    return (n2 - n1) / (b["cpu_s"] - a["cpu_s"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kafka_source", description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, metavar="REV", help="the git revision to compare against")
    parser.add_argument("--sizes", default="100000,400000", help="two input sizes in events")
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--name", default="kafka-source")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir(), "pyflink-bench"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if len(sizes) != 2 or sizes[0] >= sizes[1]:
        parser.error("--sizes takes two sizes, the smaller first")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    checkouts = {"baseline": baseline_checkout(args.baseline, args.data_dir), "candidate": ROOT}
    command = "python -m bench.kafka_source " + " ".join(argv if argv is not None else sys.argv[1:])
    report = new_report(args.name, command, baseline=args.baseline, job=" ".join(JOB), partitions=args.partitions)
    report["rounds"] = []
    with tempfile.TemporaryDirectory(prefix="kafka-source-") as work:
        broker = KafkaBroker(Path(work, "kafka"))
        broker.start()
        try:
            topics = {}
            for n in sizes:
                lines = data.activity(n, args.keys)
                topics[n] = f"activity-{n}-{uuid.uuid4().hex[:6]}"
                # Keyed by user, as a producer writes it: each partition in event-time order within the bound.
                produce(
                    broker.bootstrap_servers,
                    topics[n],
                    lines,
                    partitions=args.partitions,
                    partition_of=lambda i, line: zlib.crc32(json.loads(line)["user_id"].encode()) % args.partitions,
                )
            for number in range(1, args.rounds + 1):
                row: dict = {"round": number}
                # Alternating the order in each round spreads any drift of the machine over both.
                order = list(checkouts) if number % 2 else list(reversed(checkouts))
                for name in order:
                    runs = {}
                    for n in sizes:
                        runs[n] = run_once(
                            checkouts[name], topics[n], broker.bootstrap_servers, Path(work, uuid.uuid4().hex)
                        )
                        print(f"  round {number} {name} n={n}: {runs[n]}", flush=True)
                    rate = per_cpu_second((sizes[0], runs[sizes[0]]), (sizes[1], runs[sizes[1]]))
                    row[name] = {"events_per_cpu_s": rate, "runs": {str(n): r for n, r in runs.items()}}
                report["rounds"].append(row)
        finally:
            broker.stop()
    save(report, args.results, table(report, sizes))
    return 0


def table(report: dict, sizes: list[int]) -> str:
    def rate(row: dict, name: str) -> float | None:
        return row[name]["events_per_cpu_s"]

    def late(row: dict, name: str) -> str:
        runs = row[name]["runs"]
        return ", ".join(str(runs[str(n)].get("counts", {}).get("late", "-")) for n in sizes)

    lines = [
        f"# Kafka source: {report['name']}",
        "",
        f"{report['date']}; {report['machine']['nproc']} cores, {report['machine']['cpu']}; apache-flink "
        f"{report['versions']['apache-flink']}; job `{report['job']}`; {report['partitions']} partitions keyed by "
        f"user; events per CPU-second are the slope {sizes[0]} -> {sizes[1]} events.",
        "",
        f"Command: `{report['command']}`; baseline `{report['baseline']}`, candidate: this checkout.",
        "",
        "| round | baseline events per CPU-s | candidate events per CPU-s | candidate ÷ baseline "
        "| late (baseline) | late (candidate) |",
        "|---|---:|---:|---:|---|---|",
    ]
    ratios = []
    for row in report["rounds"]:
        b, c = rate(row, "baseline"), rate(row, "candidate")
        ratio = c / b if b and c else None
        if ratio:
            ratios.append(ratio)
        lines.append(
            f"| {row['round']} | {b or float('nan'):,.0f} | {c or float('nan'):,.0f} | "
            f"{ratio or float('nan'):.3f} | {late(row, 'baseline')} | {late(row, 'candidate')} |"
        )
    rates = {name: [r for row in report["rounds"] if (r := rate(row, name))] for name in ("baseline", "candidate")}
    if all(rates.values()) and ratios:
        medians = [statistics.median(rates[name]) for name in ("baseline", "candidate")]
        lines.append(f"| median | {medians[0]:,.0f} | {medians[1]:,.0f} | {statistics.median(ratios):.3f} | | |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
