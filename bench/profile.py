"""Where a job's Python time goes: py-spy samples the JVM of a job run (thread mode: the Python
operators run inside it, via pemja; process mode: the Python worker processes).

    python -m bench.profile --job moving_average --size 100000 [--mode process]

Writes ``bench/results/profile-<job>-<mode>.md`` (top functions by own and total time, share of
the run spent in Python) and the raw collapsed stacks (``.txt``, for speedscope or flamegraph.pl).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import data
from bench.cases import CASES
from bench.report import RESULTS, ROOT, header, machine, versions


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            kids = []
        found += kids
        todo += kids
    return found


def python_processes(pid: int) -> list[int]:
    """Descendants of ``pid`` that run Python code: the JVM once pemja loaded libpython (thread
    mode), or the Python workers (process mode; the client's own Python is ``pid`` itself)."""
    hits = []
    for p in descendants(pid):
        try:
            maps = Path(f"/proc/{p}/maps").read_text()
            cmd = Path(f"/proc/{p}/cmdline").read_text()
        except OSError:
            continue
        if ("java" in cmd and "libpython" in maps) or (
            ("python" in cmd and "beam" in cmd) or "pyflink.fn_execution" in cmd
        ):
            hits.append(p)
    return hits


def summarize(stacks: Path, seconds: float, rate: int, top: int = 25) -> str:
    """Own and total time per function, over the samples of the run proper: samples inside an
    import (the embedded interpreter loading pyflink and apache_beam when the operators open) are
    start-up and counted apart."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = imports = 0
    for line in stacks.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if not frames:
            continue
        n = int(count)
        parts = frames.split(";")
        if any("importlib._bootstrap" in f for f in parts):
            imports += n
            continue
        samples += n
        own[parts[-1]] += n
        for frame in set(parts):
            total[frame] += n
    expected = seconds * rate
    lines = [
        f"Samples: {samples + imports} with Python on a stack (of ~{expected:.0f} = {rate} Hz x {seconds:.1f} s), "
        f"of which {imports} in imports at operator start-up; the {samples} others are the table's 100 %."
        f" Python (other than imports) runs {100 * samples / max(expected, 1):.0f} % of the execution time; "
        "the rest is the JVM (source, table bridge, serializers, sink) or idle.",
        "",
        "| own time | function |",
        "|---:|---|",
    ]
    lines += [f"| {100 * n / samples:.1f} % | `{f}` |" for f, n in own.most_common(top)]
    lines += ["", "| total time | function |", "|---:|---|"]
    lines += [f"| {100 * n / samples:.1f} % | `{f}` |" for f, n in total.most_common(top)]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--job", default="moving_average", choices=sorted(CASES))
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--mode", choices=["thread", "process"], default="thread")
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir(), "pyflink-bench"))
    args = parser.parse_args(argv)
    case = CASES[args.job]
    files = {k: str(v) for k, v in data.ensure(args.data_dir, case.dataset, args.size, args.keys).items()}
    work = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    spec = {"path": "job", "case": args.job, "files": files, "out": str(work / "out"), "mode": args.mode}
    job = subprocess.Popen(
        [sys.executable, "-m", "bench.worker", json.dumps(spec)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=open(work / "job.log", "w"),  # noqa: SIM115 (the child writes it; closed with the process)
        text=True,
    )
    spies = {}
    while job.poll() is None:  # attach to each Python-running process as it appears
        for pid in python_processes(job.pid):
            if pid not in spies:
                out = work / f"stacks-{pid}.txt"
                spies[pid] = (
                    out,
                    subprocess.Popen(
                        [
                            str(Path(sys.executable).with_name("py-spy")),
                            "record",
                            "--pid",
                            str(pid),
                            "--rate",
                            str(args.rate),
                            "--format",
                            "raw",
                            "--nonblocking",
                            "--output",
                            str(out),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    ),
                    time.monotonic(),
                )
        time.sleep(0.5)
    assert job.stdout is not None
    result = json.loads([line for line in job.stdout.read().splitlines() if line.startswith("BENCH-RESULT ")][-1][13:])
    merged = work / "stacks.txt"
    with open(merged, "w") as f:
        for out, spy, _ in spies.values():
            spy.wait(timeout=60)
            if out.exists():
                f.write(out.read_text())
    report = {
        "name": f"profile-{args.job}-{args.mode}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "versions": versions(),
        "command": "python -m bench.profile " + " ".join(argv or sys.argv[1:]),
    }
    table = summarize(merged, result.get("execute_s", 0), args.rate)
    text = (
        header(report)
        + f"\n\n{args.job}, {args.size:,} events, {args.mode} mode: execution {result.get('execute_s', 0):.1f} s; "
        f"processes sampled: {len(spies)}.\n\n" + table
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{report['name']}.md").write_text(text)
    (RESULTS / f"{report['name']}.txt").write_text(merged.read_text())
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
