"""Benchmark: each job (a) as users run it, (b) as Flink SQL, (c) as the seed's pure-Python
simulation, on one deterministic input per size; events/s excluding start-up, peak memory,
ratios, and a check that (a) and (b) produced the same results.

    python -m bench                                   # every job, 100 k and 1 M events, 10 k keys
    python -m bench --jobs moving_average --sizes 20000,100000 --name quick
    python -m bench --jobs moving_average --variants default,process --name tuning

Writes ``bench/results/<name>.md`` and ``<name>.json`` (default name ``latest``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import data
from bench.cases import BOUND_MS, CASES
from bench.peers import COVERS, PEERS
from bench.peers import compare as peer_compare
from bench.report import RESULTS, ROOT, header, new_report, rate, save
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
    # moving_average, sessions, late_data: their windows in Flink's Java operators (the jobs' own option)
    "jvm-window": {"mode": "thread", "argv": ["--window-operator", "jvm"]},
    # What the per-output counting map (a Python operator on every output record) costs; Flink's
    # own numRecordsIn of each named sink counts the same records in the JVM.
    "no-count-map": {"mode": "thread", "count_outputs": False},
    "jvm-window-no-count-map": {"mode": "thread", "argv": ["--window-operator", "jvm"], "count_outputs": False},
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


def stages_markdown(entries) -> str:
    lines = [
        "| job | pipeline up to | events/s | wall us/event | added (wall us) | CPU us/event | added (CPU us) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for e in entries:
        for c in e["stage_costs"]:
            lines.append(
                f"| {e['job']} | {c['stage']} | {c['events_per_s'] or 'n/a':,} | {c['us_per_event']} | "
                f"{c['added_us_per_event']} | {c['cpu_us_per_event']} | {c['added_cpu_us_per_event']} |"
            )
    return "\n".join(lines) + "\n"


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


def fmt_rate(r) -> str:
    """``12,345``; ``>=12,345*`` where the larger size was not slower (start-up included: a lower bound)."""
    if not r:
        return "n/a"
    return f">={r['events_per_s']:,}*" if r.get("noisy") else f"{r['events_per_s']:,}"


def fmt_ratio(x) -> str:
    if x is None:
        return "n/a"
    return f"{x:.2f}x" if x >= 0.1 else f"{x:.3f}x"


def markdown(report: dict) -> str:
    peers = [p for p in PEERS if any(p in run for e in report["jobs"] for run in e["runs"].values())]
    lines = [
        header(report),
        f"Input: {report['keys']:,} keys, sizes {', '.join(f'{n:,}' for n in report['sizes'])} events, "
        f"event time +10 ms per event with +-0.5 s disorder, 0.2 % of activity events 2-10 s late, "
        f"watermark bound 1 s, parallelism {report['parallelism']}. Events/s exclude start-up "
        "(slope between the two sizes); ev/CPU-s: the same slope over the CPU time of the process tree, "
        "robust to other load on the machine; peak memory is the whole process tree (client, JVM, Python workers). "
        "`>=N*`: the larger run was not slower than the smaller one (other load swamped the difference), so N is "
        "the larger run's events / execution time, start-up included: a lower bound.",
        "",
        "| job | variant | (a) job ev/s | (b) SQL ev/s | SQL blackhole ev/s | (c) seed ev/s | job/SQL "
        "| job/SQL blackhole | job/seed | job ev/CPU-s | SQL ev/CPU-s | job/SQL by CPU | peak MB job / SQL "
        "| (a) = (b) | accounting "
        + "".join(f"| {p} ev/s | {p} ev/CPU-s | job/{p} by CPU | {p} peak MB | {p} vs job " for p in peers)
        + "| load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|"
        + "---:|---:|---:|---:|---|" * len(peers)
        + "---|",
    ]
    for e in report["jobs"]:
        checks = e["checks"].values()
        same = [c.get("same_as_sql") for c in checks if "same_as_sql" in c]
        acct = [c.get("accounting_ok") for c in checks if "accounting_ok" in c]
        loads: list[float] = [
            r["load_avg_1m"]
            for run in e["runs"].values()
            for k, r in run.items()
            if isinstance(r, dict) and r.get("load_avg_1m") is not None
        ]
        failed = [
            f"{k} n={n}: {r.get('error')}"
            for n, run in e["runs"].items()
            for k, r in run.items()
            if isinstance(r, dict) and not r.get("ok") and not r.get("skipped")
        ]
        lines.append(
            " | ".join(
                [
                    f"| {e['job']}",
                    e["variant"],
                    fmt_rate(e["job_rate"]),
                    fmt_rate(e["sql_rate"]),
                    fmt_rate(e["blackhole_rate"]),
                    fmt_rate(e["seed_rate"]),
                    fmt_ratio(e["job_over_sql"]),
                    fmt_ratio(e["job_over_blackhole"]),
                    fmt_ratio(e["job_over_seed"]),
                    fmt_rate(e.get("job_cpu_rate")),
                    fmt_rate(e.get("sql_cpu_rate")),
                    fmt_ratio(e.get("job_over_sql_cpu")),
                    f"{e['job_peak_mb'] or 'n/a'} / {e['sql_peak_mb'] or 'n/a'}",
                    ("yes" if all(same) else "**NO**") if same else "n/a",
                    ("ok" if all(acct) else "**MISMATCH**") if acct else "n/a",
                    *(cell for p in peers for cell in peer_cells(e, p)),
                    f"{min(loads):.1f}-{max(loads):.1f}" if loads else "",
                ]
            )
            + " |"
        )
        if failed:
            lines.append(f"|  | failed: {'; '.join(failed)[:300]} |" + "|" * (15 + 5 * len(peers)))
    notes = [f"- {e['job']}: {e['note']}" for e in report["jobs"] if e.get("note")]
    if notes:
        lines += ["", *dict.fromkeys(notes)]
    brokered = {  # one per job: each variant of a job is compared with the same peer run
        f"{e['job']} {p} {fmt_rate(e[f'{p}_broker_cpu_rate'])}": None
        for e in report["jobs"]
        for p in peers
        if e.get(f"{p}_broker_cpu_rate")
    }
    if brokered:
        lines += [
            "",
            "Quix's columns count its own process tree; with the Kafka broker's CPU during the run added, "
            f"ev/CPU-s: {', '.join(brokered)}. Peak memory of the peers: their process tree (not the broker).",
        ]
    if peers:
        lines += ["", *peer_differences(report, peers)]
    return "\n".join(lines) + "\n"


def last_check(e: dict, peer: str) -> dict | None:
    """The peer's check at the largest size it was compared at."""
    checks = [e["checks"][str(n)].get(peer) for n in e["sizes"] if str(n) in e["checks"]]
    checks = [c for c in checks if c]
    return checks[-1] if checks else None


def records_in(e: dict, n: int) -> int:
    return e["runs"][str(n)]["records_in"]


def peer_cells(e: dict, peer: str) -> list[str]:
    if not any(peer in run for run in e["runs"].values()):
        return ["n/a"] * 5
    check = last_check(e, peer)
    return [
        fmt_rate(e.get(f"{peer}_rate")),
        fmt_rate(e.get(f"{peer}_cpu_rate")),
        fmt_ratio(e.get(f"job_over_{peer}_cpu")),
        str(e.get(f"{peer}_peak_mb") or "n/a"),
        peer_compare.summary(check) if check else "n/a",
    ]


def peer_differences(report: dict, peers: list[str]) -> list[str]:
    """Every difference between a peer's records and the job's, by cause, at every size."""
    lines = [
        "Peers against the job (records reduced as for SQL; causes in bench/peers/compare.py; "
        "`behind wm`: input events behind one reader's watermark, the only ones any engine may treat as late):",
        "",
        "| job | peer | events | job records | peer records | only in job | only in peer | causes (job / peer side) "
        "| late: job / peer | behind wm | peer accounts for |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for e in report["jobs"]:
        for peer in peers:
            for n in e["sizes"]:
                c = e["checks"].get(str(n), {}).get(peer)
                if not c:
                    continue
                if c.get("error"):
                    lines.append(f"| {e['job']} | {peer} | {n:,} | error: {c['error'][:200]} ||||||||")
                    continue
                causes = (
                    "; ".join(
                        f"{name}: {v['only_in_job']} / {v['only_in_peer']} ({v['keys']} keys)"
                        for name, v in c["causes"].items()
                    )
                    or "none (equal)"
                )
                lines.append(
                    f"| {e['job']} | {peer} | {n:,} | {c['job_records']:,} | {c['peer_records']:,} | "
                    f"{c['only_in_job']:,} | {c['only_in_peer']:,} | {causes} | {c['job_late']} / {c['peer_late']} | "
                    f"{c['behind_watermark']} | {c.get('peer_accounted', 'n/a')} of {records_in(e, n):,} |"
                )
    return list(dict.fromkeys(lines))  # each variant of a job is checked against the same peer run


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


def scaling_markdown(report: dict) -> str:
    """Events per CPU-second by parallelism (relative to parallelism 1), and memory per key: the
    peak of the run with many keys minus the peak with --keys, over the extra distinct keys."""
    lines = [
        header(report),
        f"Sizes {', '.join(f'{n:,}' for n in report['sizes'])} events (slopes between them), one input file; "
        "peak memory of the whole process tree; memory per key = (peak with more keys - peak at the "
        "same parallelism with fewer) / (extra distinct keys in the larger input).",
        "",
        "| job | variant | parallelism | keys (distinct in largest input) | job ev/s | job ev/CPU-s | ev/CPU-s vs p1 "
        "| peak MB | bytes per extra key | accounting | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    jobs = report["jobs"]
    for e in jobs:
        base = next(
            (b for b in jobs if b["job"] == e["job"] and b["variant"] == e["variant"] and b["parallelism"] == 1), None
        )
        few = next(
            (
                b
                for b in jobs
                if b["job"] == e["job"] and b["parallelism"] == e["parallelism"] and b["keys"] < e["keys"]
            ),
            None,
        )
        cpu, base_cpu = e.get("job_cpu_rate"), base and base.get("job_cpu_rate")
        per_key = "n/a"
        if few and e.get("job_peak_mb") and few.get("job_peak_mb"):
            extra = e["distinct_keys"] - few["distinct_keys"]
            per_key = f"{(e['job_peak_mb'] - few['job_peak_mb']) * 1024 * 1024 / extra:,.0f}" if extra > 0 else "n/a"
        acct = [c.get("accounting_ok") for c in e["checks"].values() if "accounting_ok" in c]
        loads = [r["load_avg_1m"] for run in e["runs"].values() for r in run.values() if isinstance(r, dict)]
        lines.append(
            f"| {e['job']} | {e['variant']} | {e['parallelism']} | {e['keys']:,} ({e['distinct_keys']:,}) | "
            f"{fmt_rate(e['job_rate'])} | {fmt_rate(cpu)} | "
            f"{fmt_ratio(cpu['events_per_s'] / base_cpu['events_per_s']) if cpu and base_cpu else 'n/a'} | "
            f"{e['job_peak_mb'] or 'n/a'} | {per_key} | "
            f"{('ok' if all(acct) else '**MISMATCH**') if acct else 'n/a'} | "
            f"{f'{min(loads):.1f}-{max(loads):.1f}' if loads else ''} |"
        )
    return "\n".join(lines) + "\n"


def render(report: dict) -> str:
    if report.get("mode") == "scaling":
        return scaling_markdown(report)
    if report["jobs"] and "stage_costs" in report["jobs"][0]:
        return header(report) + "\n\n" + stages_markdown(report["jobs"])
    return markdown(report)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default=",".join(CASES), help="comma-separated (default: every job that exists)")
    parser.add_argument("--sizes", default="100000,1000000", help="input sizes in events (default 100000,1000000)")
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--parallelism", type=int, default=1)
    parser.add_argument("--variants", default="default", help=f"execution settings: {', '.join(VARIANTS)}")
    parser.add_argument(
        "--paths",
        default="job,sql,blackhole,seed",
        help="which of job,sql,blackhole,seed and the peers bytewax,quix (bench/peers/, the bench group) to run",
    )
    parser.add_argument("--name", default="latest", help="results go to bench/results/<name>.md and .json")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for <name>.md and .json")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir(), "pyflink-bench"))
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per measured run")
    parser.add_argument(
        "--stages", action="store_true", help="instead: where the time goes, the job's pipeline cut after each stage"
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="only rewrite bench/results/<name>.md from <name>.json (ratios recomputed)",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help=f"instead: each job at parallelism {', '.join(map(str, SCALING_PARALLELISM))} and with "
        f"{SCALING_KEYS:,} keys as well as --keys (events per CPU-second, memory per key)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the outputs and logs of every run")
    args = parser.parse_args(argv)
    if args.render:
        report = json.loads((args.results / f"{args.name}.json").read_text())
        for e in report["jobs"]:
            if "runs" in e:
                finish(e)
        (args.results / f"{args.name}.json").write_text(json.dumps(report, indent=1) + "\n")
        table = render(report)
        (args.results / f"{args.name}.md").write_text(table)
        print(table)
        return 0
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    args.paths = args.paths.split(",")
    jobs = [j for j in args.jobs.split(",") if j]
    unknown = [j for j in jobs if j not in CASES] + [v for v in args.variants.split(",") if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown job or variant: {', '.join(unknown)}")
    missing = [j for j in jobs if not available(j)]
    jobs = [j for j in jobs if available(j)]
    if missing:
        print(f"skipping jobs not in jobs/ yet: {', '.join(missing)}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=args.data_dir if args.data_dir.exists() else None))
    report = new_report(
        args.name,
        " ".join(["python -m bench", *(argv or sys.argv[1:])]),
        keys=args.keys,
        sizes=args.sizes,
        parallelism=args.parallelism,
    )
    unknown_peers = [p for p in args.paths if p not in ("job", "sql", "blackhole", "seed", *PEERS)]
    if unknown_peers:
        parser.error(f"unknown path: {', '.join(unknown_peers)}")
    args.broker = None
    broker = None
    if "quix" in args.paths:  # Quix reads a topic: one local broker for the whole run
        from tools.kafka_broker import KafkaBroker

        broker = KafkaBroker(work / "kafka")
        args.broker = {"bootstrap": broker.start()}
        args.broker["broker_pid"] = broker.pid()
        print(f"kafka broker for quix: {args.broker}", flush=True)
    if args.scaling:
        report["mode"] = "scaling"
    try:
        variants = args.variants.split(",")
        for job in jobs:
            if not (args.scaling or args.stages):
                print(f"{job} [{', '.join(variants)}]", flush=True)
                report["jobs"].extend(bench_job(CASES[job], args, variants, work))
                continue
            for variant in variants:
                print(f"{job} [{variant}]", flush=True)
                if args.scaling:
                    report["jobs"].extend(bench_scaling(CASES[job], args, variant, work))
                else:
                    report["jobs"].append(bench_stages(CASES[job], args, variant, work))
    finally:
        if broker is not None:
            broker.stop()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    table = render(report)
    save(report, args.results, table)
    bad = [
        e["job"]
        for e in report["jobs"]
        for c in e.get("checks", {}).values()
        if c.get("same_as_sql") is False or c.get("accounting_ok") is False
    ]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
