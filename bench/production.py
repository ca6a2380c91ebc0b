"""Throughput in production terms: the same job on the same input three ways, side by side.

- ``local``: ``python -m jobs.<job> --sink file`` (MiniCluster), as a user runs it;
- ``cluster``: submitted to a standalone cluster the documented way (``flink run -py``, the
  cluster's default execution mode), file in, file out;
- ``kafka``: submitted likewise, Kafka in and Kafka out, checkpoints every second, exactly-once.

Events/s and events per CPU-second are slopes between two input sizes, so start-up (JVM, job
submission, the first checkpoint) cancels out. CPU is what the job's processes used: the local
run's process tree; the cluster's JobManager and TaskManager process groups (not the submitting
client, nor the Kafka broker). Outputs of the cluster and Kafka runs are checked against the local
run's, record for record.

    .venv/bin/python -m bench.production                      # sessions and window_join, 20 k and 100 k events
    .venv/bin/python -m bench.production --jobs sessions --sizes 10000,50000 --name quick

Writes ``bench/results/<name>.md`` and ``<name>.json`` (default name ``production``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench import data
from bench.cases import BOUND_MS, CASES
from bench.report import RESULTS, new_report, rate, save
from bench.worker import cpu_ticks, process_tree
from runner.outputs import canonical, read_file_outputs
from tools.flink_cluster import FlinkCluster, group_members
from tools.kafka_broker import KafkaBroker, produce, read_topic
from tools.processes import child_env

ROOT = Path(__file__).resolve().parent.parent
PATHS = ("local", "cluster", "kafka")
CHECKPOINT_INTERVAL = "1s"


class CpuMeter:
    """CPU seconds of a changing set of processes: each process's last reading counts, so processes
    that end during the measurement (Python workers) keep what they used up to the last sample."""

    def __init__(self, pids):
        self.pids = pids  # () -> iterable of pids
        self.start = {pid: cpu_ticks(pid) for pid in pids()}
        self.last = dict(self.start)

    def sample(self) -> None:
        for pid in self.pids():
            self.last[pid] = cpu_ticks(pid)

    def seconds(self) -> float:
        self.sample()
        return sum(ticks - self.start.get(pid, 0) for pid, ticks in self.last.items()) / os.sysconf("SC_CLK_TCK")


def job_argv(case, files: dict[str, str]) -> list[str]:
    argv = [*case.argv, "--out-of-orderness", f"{BOUND_MS}ms"]
    for option, name in case.inputs.items():
        argv += [option, files[name]]
    return argv


def run_local(case, files, out: Path) -> dict:
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", f"jobs.{case.job}", *job_argv(case, files), "--sink", "file", "--output", str(out)],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    meter = CpuMeter(lambda: process_tree(proc.pid))
    while proc.poll() is None:
        meter.sample()
        time.sleep(0.2)  # sampling the process tree's CPU
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        return {"ok": False, "error": err[-2000:]}
    return {"ok": True, "wall_s": time.monotonic() - started, "cpu_s": meter.seconds()}


def run_submitted(cluster: FlinkCluster, case, argv: list[str]) -> dict:
    groups = cluster.process_groups()
    meter = CpuMeter(lambda: [pid for g in groups for pid in group_members(g)])
    started = time.monotonic()
    job_id = cluster.submit(f"jobs/{case.job}.py", argv).job_id
    while (state := cluster.rest(f"/jobs/{job_id}")["state"]) not in ("FINISHED", "FAILED", "CANCELED"):
        meter.sample()
        time.sleep(0.2)  # sampling the cluster's CPU while the job runs
    if state != "FINISHED":
        return {"ok": False, "error": f"{state}: {cluster.root_cause(job_id)}"}
    return {
        "ok": True,
        "wall_s": time.monotonic() - started,
        "cpu_s": meter.seconds(),
        "job_s": cluster.rest(f"/jobs/{job_id}")["duration"] / 1000,
    }


def kafka_argv(case, bootstrap: str, topics: dict[str, str], prefix: str) -> list[str]:
    argv = [
        *case.argv,
        "--out-of-orderness",
        f"{BOUND_MS}ms",
        "--source",
        "kafka",
        "--bootstrap-servers",
        bootstrap,
        "--bounded",
        "--sink",
        "kafka",
        "--output-topic-prefix",
        prefix,
        "--checkpoint-interval",
        CHECKPOINT_INTERVAL,
        "--delivery-guarantee",
        "exactly-once",
    ]
    job = importlib.import_module(f"jobs.{case.job}").JOB
    for spec in job.inputs:
        argv += [spec.topic_option, topics[spec.name]]
    return argv


def same(a: dict[str, list], b: dict[str, list]) -> bool:
    return {k: canonical(v) for k, v in a.items()} == {k: canonical(v) for k, v in b.items()}


def bench_case(case, args, cluster, bootstrap, work: Path) -> dict:
    entry: dict[str, Any] = {"job": case.job, "sizes": args.sizes, "runs": {}, "checks": {}}
    job = importlib.import_module(f"jobs.{case.job}").JOB
    input_names = [spec.name for spec in job.inputs]
    for n in args.sizes:
        files = {k: str(v) for k, v in data.ensure(args.data_dir, case.dataset, n, args.keys).items()}
        records_in = sum(data.lines_in(f) for f in files.values())
        runs: dict[str, Any] = {"records_in": records_in}
        entry["runs"][str(n)] = runs
        base = work / f"{case.job}-{n}"
        runs["local"] = run_local(case, files, base / "local")
        print(f"  {case.job} n={n} local: {runs['local']}", flush=True)
        local = read_file_outputs(base / "local", [p.name for p in (base / "local").iterdir()])
        runs["cluster"] = run_submitted(
            cluster, case, [*job_argv(case, files), "--sink", "file", "--output", str(base / "cluster")]
        )
        print(f"  {case.job} n={n} cluster: {runs['cluster']}", flush=True)
        checks = entry["checks"][str(n)] = {}
        if runs["cluster"]["ok"]:
            checks["cluster_same_as_local"] = same(read_file_outputs(base / "cluster", local), local)
        suffix = uuid.uuid4().hex[:8]
        dataset_files = dict(zip(input_names, (files[name] for name in case.inputs.values()), strict=False))
        topics = {name: f"bench-{name}-{n}-{suffix}" for name in input_names}
        for name, topic in topics.items():
            produce(bootstrap, topic, Path(dataset_files[name]).read_text(encoding="utf-8").splitlines())
        prefix = f"bench-{case.job}-{n}-{suffix}"
        runs["kafka"] = run_submitted(cluster, case, kafka_argv(case, bootstrap, topics, prefix))
        print(f"  {case.job} n={n} kafka: {runs['kafka']}", flush=True)
        if runs["kafka"]["ok"]:
            kafka = {
                o: [json.loads(r) for r in read_topic(bootstrap, f"{prefix}.{o}", "read_committed")] for o in local
            }
            checks["kafka_same_as_local"] = same(kafka, local)
        print(f"  {case.job} n={n} checks: {checks}", flush=True)
        shutil.rmtree(base, ignore_errors=True)
    for path in PATHS:
        points = [(entry["runs"][str(n)]["records_in"], entry["runs"][str(n)][path]) for n in args.sizes]
        entry[f"{path}_rate"] = rate(points, "wall_s")
        entry[f"{path}_cpu_rate"] = rate(points, "cpu_s")
    local_cpu = entry["local_cpu_rate"]
    for path in ("cluster", "kafka"):
        other = entry[f"{path}_cpu_rate"]
        # CPU per event of the path over CPU per event of the local run (1.0 = the same cost).
        entry[f"{path}_cpu_per_event_over_local"] = (
            round(local_cpu["events_per_s"] / other["events_per_s"], 3) if local_cpu and other else None
        )
    return entry


def markdown(report: dict) -> str:
    lines = [
        f"# Production paths: {report['name']}",
        "",
        f"{report['date']}; {report['machine']['nproc']} cores, {report['machine']['cpu']}; "
        f"apache-flink {report['versions']['apache-flink']}; {report['keys']} keys; sizes "
        f"{', '.join(map(str, report['sizes']))} (slope); cluster execution mode: thread (its default); "
        f"Kafka path: checkpoints every {CHECKPOINT_INTERVAL}, exactly-once sinks.",
        "",
        f"Command: `{report['command']}`",
        "",
        "| job | path | events/s | events per CPU-s | CPU per event ÷ local | outputs |",
        "|---|---|---:|---:|---:|---|",
    ]
    for e in report["jobs"]:
        for path in PATHS:
            wall, cpu = e.get(f"{path}_rate"), e.get(f"{path}_cpu_rate")
            ratio = e.get(f"{path}_cpu_per_event_over_local")
            checks = [c.get(f"{path}_same_as_local") for c in e["checks"].values()]
            verdict = (
                "(reference)"
                if path == "local"
                else ("same as local" if checks and all(checks) else f"DIFFERENT {checks}")
            )
            lines.append(
                f"| {e['job']} | {path} | {wall['events_per_s']:,} | {cpu['events_per_s']:,} | "
                f"{'1' if path == 'local' else ratio} | {verdict} |"
                if wall and cpu
                else f"| {e['job']} | {path} | failed | | | {e['runs']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.production", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="sessions,window_join")
    parser.add_argument("--sizes", default="20000,100000", help="two input sizes in events (default 20000,100000)")
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--name", default="production")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir(), "pyflink-bench"))
    args = parser.parse_args(argv)
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    jobs = args.jobs.split(",")
    unknown = [j for j in jobs if j not in CASES]
    if unknown or len(args.sizes) != 2:
        parser.error(f"unknown job {unknown[0]}" if unknown else "--sizes takes two sizes")
    work = Path(tempfile.mkdtemp(prefix="bench-production-"))
    command = " ".join([".venv/bin/python -m bench.production", *(argv or sys.argv[1:])])
    report = new_report(args.name, command, keys=args.keys, sizes=args.sizes)
    broker, cluster = KafkaBroker(work / "kafka", port=None), FlinkCluster(work / "flink")
    try:
        bootstrap = broker.start()
        cluster.start()
        for job in jobs:
            print(job, flush=True)
            report["jobs"].append(bench_case(CASES[job], args, cluster, bootstrap, work))
    finally:
        cluster.stop()
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)
    save(report, args.results, markdown(report))
    checks = [v for e in report["jobs"] for c in e["checks"].values() for v in c.values()]
    return 0 if checks and all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
