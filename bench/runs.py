"""The benchmark's measured runs: each path of a case (the job as users run it, Flink SQL, the
seed's simulation, the peers) in a fresh worker process, their outputs compared, and the variants
(execution settings) and scaling runs of ``python -m bench``."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import data
from bench.cases import BOUND_MS
from bench.peers import COVERS, PEERS
from bench.peers import compare as peer_compare
from bench.report import ROOT, rate
from runner.outputs import read_file_outputs, read_records

#: Execution settings compared by ``--variants``: the Python execution mode, Flink configuration
#: ``overrides`` (applied after the project's own, runner/environment.py), more job options
#: (``argv``), another ``build`` of the job, and whether outputs pass their counting map.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {"mode": "thread"},
    "process": {"mode": "process"},  # deterministic watermarks: bundle size 1
    "process-bundle-1000": {"mode": "process", "argv": ["--process-bundle-size", "1000"]},
    "pyflink-defaults": {
        "mode": "thread",
        "overrides": {"python.fn-execution.bundle.size": "100000", "python.fn-execution.bundle.time": "1000"},
    },
    "bundle-1": {"mode": "thread", "overrides": {"python.fn-execution.bundle.size": "1"}},
    "bundle-100k": {
        "mode": "thread",
        "overrides": {"python.fn-execution.bundle.size": "100000", "python.fn-execution.bundle.time": "5000"},
    },
    "state-caches": {
        "mode": "thread",
        "overrides": {
            "python.state.cache-size": "200000",
            "python.map-state.read-cache-size": "200000",
            "python.map-state.write-cache-size": "200000",
        },
    },
    "object-reuse": {"mode": "thread", "overrides": {"pipeline.object-reuse": "true"}},
    "no-python-chaining": {"mode": "thread", "overrides": {"python.operator-chaining.enabled": "false"}},
    # Every job's fast build (``--build jvm``; the name is from when only the windows had one).
    "jvm-window": {"mode": "thread", "argv": ["--build", "jvm"]},
    # What the per-output counting map (a Python operator on every output record) costs; Flink's
    # own numRecordsIn of each named sink counts the same records in the JVM.
    "no-count-map": {"mode": "thread", "count_outputs": False},
    "jvm-window-no-count-map": {"mode": "thread", "argv": ["--build", "jvm"], "count_outputs": False},
}


def worker(spec: dict, log: Path, timeout: float) -> dict:
    """Run one measurement in a fresh interpreter (and so a fresh JVM)."""
    load = os.getloadavg()[0]
    started = time.monotonic()
    with open(log, "w") as err:
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "bench.worker", json.dumps(spec)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                timeout=timeout,
            )
            lines = [line for line in proc.stdout.splitlines() if line.startswith("BENCH-RESULT ")]
            result = (
                json.loads(lines[-1][len("BENCH-RESULT ") :])
                if lines
                else {"ok": False, "error": f"worker exited {proc.returncode} without a result (see {log})"}
            )
        except subprocess.TimeoutExpired:
            result = {"ok": False, "error": f"timed out after {timeout:.0f}s"}
    result.update(wall_s=round(time.monotonic() - started, 3), load_avg_1m=round(load, 2))
    return result


def compare(case, job_out: Path, outputs: list[str], sql_out: Path | None, records_in: int) -> dict:
    """(a) vs (b) record for record, and the job's accounting identity."""
    job_outputs = read_file_outputs(job_out, outputs)
    job = importlib.import_module(f"jobs.{case.job}").JOB
    check: dict[str, Any] = {"outputs": {name: len(records) for name, records in job_outputs.items()}}
    try:
        check["accounted"] = job.accounted(job_outputs)
        check["accounting_ok"] = check["accounted"] == records_in
    except Exception as error:  # a changed output contract shows up here, not as a crash
        check["accounting_error"] = f"{type(error).__name__}: {error}"
    if sql_out is None or case.job_rows is None:
        return check
    try:
        mine, theirs = Counter(case.job_rows(job_outputs)), Counter(case.sql_rows(read_records(sql_out)))
    except Exception as error:
        check.update(same_as_sql=False, compare_error=f"{type(error).__name__}: {error}")
        return check
    only_job, only_sql = mine - theirs, theirs - mine
    check.update(
        same_as_sql=not only_job and not only_sql,
        compared=sum(mine.values()),
        sql_records=sum(theirs.values()),
        only_in_job=sum(only_job.values()),
        only_in_sql=sum(only_sql.values()),
        examples={"job": [list(r) for r in list(only_job)[:3]], "sql": [list(r) for r in list(only_sql)[:3]]},
    )
    return check


def compare_peer(case, job_out: Path, job_outputs: list[str], peer_out: Path, run: dict, files: dict) -> dict:
    """A peer's records against the job's (the same reduction, ``case.job_rows``), differences by
    cause (bench/peers/compare.py)."""
    try:
        job = read_file_outputs(job_out, job_outputs)
        peer = read_file_outputs(peer_out, run["outputs"])
        with open(files["activity"], encoding="utf-8") as f:
            late = peer_compare.behind_watermark(f, BOUND_MS)
        job_late, peer_late = (
            [(r["user_id"], peer_compare.ms(r["timestamp"])) for r in outputs.get("late", [])]
            for outputs in (job, peer)
        )
        check = peer_compare.compare(case.job, case.job_rows(job), case.job_rows(peer), late, job_late, peer_late)
        check.update(
            job_late=len(job_late),
            peer_late=len(peer_late),
            behind_watermark=sum(len(v) for v in late.values()),
        )
        # the job's accounting identity on the peer's records, where they have its fields
        with contextlib.suppress(KeyError, TypeError, ValueError):
            check["peer_accounted"] = importlib.import_module(f"jobs.{case.job}").JOB.accounted({**peer, "errors": []})
        return check
    except Exception as error:
        return {"same": False, "error": f"{type(error).__name__}: {error}"}


def available(job: str) -> bool:
    return importlib.util.find_spec(f"jobs.{job}") is not None


def bench_job(case, args, variants: list[str], work: Path) -> list[dict]:
    """One entry per variant of the job. The paths that do not depend on the variant (SQL, the
    seed, the peers) run once per size, and each variant's outputs are checked against them."""
    sizes = args.sizes
    entries: list[dict[str, Any]] = [
        {
            "job": case.job,
            "variant": variant,
            "keys": args.keys,
            "parallelism": args.parallelism,
            "sizes": sizes,
            "note": case.note,
            "runs": {},
            "checks": {},
        }
        for variant in variants
    ]
    shared_label = ",".join(variants)
    paths = set(args.paths)
    for n in sizes:
        files = {k: str(v) for k, v in data.ensure(args.data_dir, case.dataset, n, args.keys).items()}
        records_in = sum(data.lines_in(f) for f in files.values())
        shared: dict[str, Any] = {"records_in": records_in}
        base = work / f"{case.job}-{n}"
        common = {"case": case.job, "files": files, "parallelism": args.parallelism}
        for entry in entries:
            variant = entry["variant"]
            runs: dict[str, Any] = {"records_in": records_in}
            entry["runs"][str(n)] = runs
            if "job" in paths:
                runs["job"] = worker(
                    {**common, **VARIANTS[variant], "path": "job", "out": str(base / f"job-{variant}")},
                    base.with_suffix(f".job-{variant}.log"),
                    args.timeout,
                )
                say(case.job, variant, n, "job", runs["job"])
        sql_out = None
        if case.sql and "sql" in paths:
            sql_out = base / "sql"
            shared["sql"] = worker(
                {**common, "path": "sql", "out": str(sql_out)}, base.with_suffix(".sql.log"), args.timeout
            )
            say(case.job, shared_label, n, "sql", shared["sql"])
            if not shared["sql"].get("ok"):
                sql_out = None
        if case.sql and "blackhole" in paths:
            shared["blackhole"] = worker(
                {**common, "path": "sql", "out": None}, base.with_suffix(".bh.log"), args.timeout
            )
            say(case.job, shared_label, n, "blackhole", shared["blackhole"])
        if case.seed and "seed" in paths:
            if case.seed_max_events and records_in > case.seed_max_events:
                shared["seed"] = {
                    "ok": False,
                    "skipped": True,
                    "error": f"not run above {case.seed_max_events} events (superlinear)",
                }
            else:
                shared["seed"] = worker({**common, "path": "seed"}, base.with_suffix(".seed.log"), args.timeout)
                say(case.job, shared_label, n, "seed", shared["seed"])
        peers = [p for p in PEERS if p in paths and case.job in COVERS[p]]
        for peer in peers:
            spec = {**common, "path": "peer", "peer": peer, "out": str(base / peer)}
            if peer == "quix":
                spec.update(args.broker or {})
            shared[peer] = worker(spec, base.with_suffix(f".{peer}.log"), args.timeout)
            say(case.job, shared_label, n, peer, shared[peer])
        for entry in entries:
            runs = entry["runs"][str(n)]
            runs.update(shared)
            if not runs.get("job", {}).get("ok"):
                continue
            job_out = base / f"job-{entry['variant']}"
            check = compare(case, job_out, runs["job"]["outputs"], sql_out, records_in)
            entry["checks"][str(n)] = check
            print(f"  check {case.job} [{entry['variant']}] n={n}: {summary_check(check)}", flush=True)
            for peer in peers:
                if runs[peer].get("ok"):
                    check[peer] = compare_peer(case, job_out, runs["job"]["outputs"], base / peer, runs[peer], files)
                    print(f"  check {case.job} n={n} {peer}: {peer_compare.summary(check[peer])}", flush=True)
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return [finish(entry) for entry in entries]


def finish(entry: dict) -> dict:
    """Rates, peaks and ratios of one job's runs."""
    sizes = entry["sizes"]
    for path in ("job", "sql", "blackhole", "seed", *PEERS):
        points = [
            (entry["runs"][str(n)]["records_in"], entry["runs"][str(n)][path])
            for n in sizes
            if path in entry["runs"][str(n)]
        ]
        if path == "seed":  # no start-up to cancel: events / time at the largest size it ran
            points = [p for p in points if p[1].get("ok")][-1:]
        entry[f"{path}_rate"] = rate(points) if points else None
        entry[f"{path}_cpu_rate"] = rate(points, "cpu_s") if points else None
        if any("broker_cpu_s" in r for _, r in points):  # Quix: its broker's CPU too
            with_broker = [(n, {**r, "cpu_s": r.get("cpu_s", 0) + r.get("broker_cpu_s", 0)}) for n, r in points]
            entry[f"{path}_broker_cpu_rate"] = rate(with_broker, "cpu_s")
        peaks = [r.get("peak_rss_kb") for _, r in points if r.get("ok") and r.get("peak_rss_kb")]
        entry[f"{path}_peak_mb"] = round(max(peaks) / 1024) if peaks else None
    for other in ("sql", "blackhole", "seed", *PEERS):
        for kind in ("", "cpu_"):
            a, b = entry.get(f"job_{kind}rate"), entry.get(f"{other}_{kind}rate")
            entry[f"job_over_{other}{'_cpu' if kind else ''}"] = (
                round(a["events_per_s"] / b["events_per_s"], 4) if a and b else None
            )
    return entry


def bench_stages(case, args, variant: str, work: Path) -> dict:
    """The job's pipeline cut after each stage (bench.worker.STAGES), into a discarding sink: the
    cost of each stage per event is the difference of consecutive stages' slopes."""
    from bench.worker import STAGES

    settings = VARIANTS[variant]
    entry: dict[str, Any] = {"job": case.job, "variant": variant, "keys": args.keys, "sizes": args.sizes, "stages": {}}
    for n in args.sizes:
        files = {k: str(v) for k, v in data.ensure(args.data_dir, case.dataset, n, args.keys).items()}
        for stage in STAGES:
            result = worker(
                {
                    "path": "stage",
                    "case": case.job,
                    "stage": stage,
                    "files": files,
                    "parallelism": args.parallelism,
                    "mode": settings["mode"],
                    "overrides": settings.get("overrides"),
                },
                work / f"{case.job}-{stage}-{n}.log",
                args.timeout,
            )
            say(case.job, variant, n, f"stage {stage}", result)
            entry["stages"].setdefault(stage, []).append((n, result))
    previous = 0.0
    previous_cpu = 0.0
    for stage in STAGES:
        r, c = rate(entry["stages"][stage]), rate(entry["stages"][stage], "cpu_s")
        us = 1e6 / r["events_per_s"] if r else None
        cpu_us = 1e6 / c["events_per_s"] if c else None
        entry.setdefault("stage_costs", []).append(
            {
                "stage": stage,
                "events_per_s": r and r["events_per_s"],
                "us_per_event": us and round(us, 2),
                "added_us_per_event": us and round(us - previous, 2),
                "cpu_us_per_event": cpu_us and round(cpu_us, 2),
                "added_cpu_us_per_event": cpu_us and round(cpu_us - previous_cpu, 2),
            }
        )
        previous = us or previous
        previous_cpu = cpu_us or previous_cpu
    return entry


def say(job, variant, n, path, result):
    status = (
        (
            f"{result['execute_s']:.1f}s exec, {result['wall_s']:.1f}s wall, "
            f"{(result.get('peak_rss_kb') or 0) / 1024:.0f} MB"
        )
        if result.get("ok")
        else f"FAILED: {result.get('error')}"
    )
    print(f"  {job} [{variant}] n={n} {path}: {status} (load {result['load_avg_1m']})", flush=True)


#: ``--scaling``: the parallelisms at --keys, then this many keys at parallelism 1
SCALING_PARALLELISM = (1, 2, 4)

SCALING_KEYS = 1_000_000


def bench_scaling(case, args, variant: str, work: Path) -> list[dict]:
    """Issue 12, item 4: the job at parallelism 1, 2, 4, and with 1 M keys instead of --keys."""
    entries = []
    for parallelism, keys in [*((p, args.keys) for p in SCALING_PARALLELISM), (1, SCALING_KEYS)]:
        run_args = argparse.Namespace(**{**vars(args), "parallelism": parallelism, "keys": keys})
        print(f"{case.job} [{variant}] parallelism {parallelism}, {keys:,} keys", flush=True)
        (entry,) = bench_job(case, run_args, [variant], work)
        largest = data.ensure(args.data_dir, case.dataset, max(args.sizes), keys)
        entry["distinct_keys"] = distinct_keys(next(iter(largest.values())))
        entries.append(entry)
    return entries


def distinct_keys(path: Path) -> int:
    """How many ``user_id``s the file holds."""
    with open(path, encoding="utf-8") as f:
        return len({json.loads(line).get("user_id") for line in f if line.strip()})


def summary_check(check: dict) -> str:
    parts = []
    if "same_as_sql" in check:
        parts.append(
            "(a) = (b)"
            if check["same_as_sql"]
            else f"(a) != (b): {check.get('only_in_job')} only in job, {check.get('only_in_sql')} only in SQL"
            f"{' ' + check['compare_error'] if 'compare_error' in check else ''}"
        )
    if "accounting_ok" in check:
        parts.append("accounting ok" if check["accounting_ok"] else f"accounting {check['accounted']} != input")
    if "accounting_error" in check:
        parts.append(check["accounting_error"])
    return ", ".join(parts) or "no check"
