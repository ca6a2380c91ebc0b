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
import json
import shutil
import sys
import tempfile
from pathlib import Path

from bench.cases import CASES
from bench.peers import PEERS
from bench.report import RESULTS, new_report, save
from bench.runs import (
    SCALING_KEYS,
    SCALING_PARALLELISM,
    VARIANTS,
    available,
    bench_job,
    bench_scaling,
    bench_stages,
    finish,
)
from bench.tables import render


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
