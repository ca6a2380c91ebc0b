"""State larger than memory: a job over millions of distinct keys on the heap and on RocksDB, with
checkpoints, in a JVM whose heap is fixed like a TaskManager's.

    .venv/bin/python -m bench.state_scale                                   # make bench-state
    .venv/bin/python -m bench.state_scale --keys 1000000,3000000 --backends hashmap,rocksdb,rocksdb-full

Each key has one event, one millisecond after the previous key's, so with ``--gap`` (sessions) or
``--timeout`` (inactivity_timeouts) of a day every key holds state until the input ends: the state
grows with the keys, the case that outgrows a heap. With the jobs' own 5 min, only the keys of the
last 5 min of event time hold state and it stops growing (``--lives expiring``).

Each run is one process (the runner's seams, a MiniCluster in a gateway JVM started with ``-Xmx`` =
``--heap``, managed memory ``--managed-memory``), checkpointing every ``--checkpoint-interval`` to
a folder of its own; a thread samples the run every second: resident memory of the process tree,
RocksDB's working folder on disk, and the checkpoints the MiniCluster's REST endpoint reports (full
size, the size this checkpoint uploaded, duration). Events per CPU-second are the slope between two
key counts of the same backend, so start-up cancels out. A run that fails (a heap that is full) is
reported with its reason.

Writes ``bench/results/<name>.md``, ``<name>.json`` and ``<name>.svg`` (state and checkpoint size
over time), default name ``state-scale``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.report import RESULTS, ROOT, new_report, save
from bench.worker import process_tree, process_tree_cpu_s, process_tree_memory_kb, process_tree_peak_kb
from runner.environment import INCREMENTAL_CHECKPOINTS, state_backend
from udfs.timeutil import format_time

#: The jobs and their build: the JVM window build for sessions, so that state, not Python, is
#: what the run measures; inactivity_timeouts has its teaching build only.
JOBS = {
    "sessions": ("--build", "jvm", "--gap"),
    "inactivity_timeouts": ("--timeout",),
}
#: How long a key's state lives in event time: a day (every key until the end) or the job's 5 min.
LIVES = {"growing": "1d", "expiring": "5min"}
#: --backends: the state backend and whether its checkpoints are incremental, as --state-backend
#: sets them (runner/environment.py), and RocksDB with full checkpoints to compare against.
BACKENDS = {
    "hashmap": state_backend("hashmap"),
    "rocksdb": state_backend("rocksdb"),
    "rocksdb-full": {**state_backend("rocksdb"), INCREMENTAL_CHECKPOINTS: "false"},
}
START_MS = 1_700_000_000_000  # 2023-11-14T22:13:20Z


def keys_file(folder: Path, keys: int) -> Path:
    """One event per key, ``u<i>`` at START + i ms: generated once and cached."""
    path = folder / f"distinct-keys-{keys}.jsonl"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for i in range(keys):
                stamp = format_time(START_MS + i)
                f.write(
                    f'{{"user_id": "u{i:09d}", "action": "click", "value": 1.0, "tenant": "t{i % 16}", '
                    f'"timestamp": "{stamp}"}}\n'
                )
        tmp.rename(path)
    return path


#: A heap that is full does not fail at once: G1 collects the old generation again and again,
#: each time freeing almost nothing, and the REST endpoint stops answering. A run whose JVM spent
#: this share of the last GC_WINDOW_S seconds in garbage collection (``jstat``, which reads the
#: JVM's performance counters from outside it) has run out of heap: it is stopped, with that reason.
GC_SHARE_EXHAUSTED = 0.9
GC_WINDOW_S = 30


class Sampler(threading.Thread):
    """Every second: memory, RocksDB's folder, and the job's checkpoints from the REST endpoint."""

    def __init__(self, rest_url: str, rocksdb_dir: Path):
        super().__init__(daemon=True)
        self.rest_url, self.rocksdb_dir = rest_url, rocksdb_dir
        self.samples: list[dict] = []
        self.checkpoints: dict[int, dict] = {}
        self.started = time.monotonic()
        self.stopped = threading.Event()

    def _get(self, path: str):
        with urllib.request.urlopen(f"{self.rest_url}{path}", timeout=2) as response:
            return json.load(response)

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            self.sample()

    def sample(self) -> None:
        t = round(time.monotonic() - self.started, 1)
        self.samples.append(
            {"t": t, "rss_mb": process_tree_memory_kb("VmRSS") // 1024, "rocksdb_mb": folder_mb(self.rocksdb_dir)}
        )
        try:
            (job,) = self._get("/jobs")["jobs"]
            history = self._get(f"/jobs/{job['id']}/checkpoints")["history"]
        except (OSError, ValueError, KeyError):  # starting, or the cluster has just shut down
            return
        for checkpoint in history:
            if checkpoint.get("status") == "COMPLETED" and checkpoint["id"] not in self.checkpoints:
                self.checkpoints[checkpoint["id"]] = {
                    "t": t,
                    "state_mb": round(checkpoint["state_size"] / 2**20, 1),
                    "uploaded_mb": round(checkpoint["checkpointed_size"] / 2**20, 1),
                    "duration_s": round(checkpoint["end_to_end_duration"] / 1000, 2),
                }


def folder_mb(folder: Path) -> float:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # compaction removed it meanwhile
                total += os.path.getsize(os.path.join(root, name))
    return round(total / 2**20, 1)


def run_worker(spec: dict) -> dict:
    """One run, in this process: the job as ``python -m jobs.<job>`` builds it."""
    import importlib

    from runner.cli import parse
    from runner.environment import local_rest_url
    from runner.progress import rest_overrides
    from runner.run import prepare, root_cause

    work = Path(spec["work"])
    job = importlib.import_module(f"jobs.{spec['job']}").JOB
    argv = [*JOBS[spec["job"]], LIVES[spec["life"]], "--input", spec["input"], "--out-of-orderness", "0ms"]
    argv += ["--sink", "file", "--output", str(work / "out"), "--checkpoint-interval", spec["checkpoint_interval"]]
    overrides = {
        **BACKENDS[spec["backend"]],
        "execution.checkpointing.dir": (work / "checkpoints").as_uri(),
        "state.backend.rocksdb.localdir": str(work / "rocksdb"),
        # RocksDB's block cache and write buffers come out of managed memory (the heap backend uses
        # none): the cluster TaskManager's, not a MiniCluster's default 128 MB.
        "taskmanager.memory.managed.size": spec["managed_memory"],
        "restart-strategy.type": "none",  # a full heap ends the run, with its reason
    }
    prepared = prepare(job, parse(job, argv), overrides=overrides, local_rest=rest_overrides())
    prepared.add_file_sinks()
    cpu, started = process_tree_cpu_s(), time.monotonic()
    sampler = None

    def watch() -> None:
        nonlocal sampler
        if sampler is None and (url := local_rest_url(prepared.env)):
            sampler = Sampler(url, work / "rocksdb")
            sampler.start()

    result: dict = {"ok": True}
    try:
        prepared.execute(watch=watch)
    except Exception as error:  # the run's failure is the measurement
        # The innermost ``Caused by`` (an OutOfMemoryError), the line a local run prints too.
        result = {"ok": False, "error": root_cause(str(error))[:300]}
    if sampler is not None:
        sampler.stopped.set()
        sampler.join()
    result.update(
        execute_s=round(time.monotonic() - started, 1),
        cpu_s=round(process_tree_cpu_s() - cpu, 1),
        peak_rss_mb=process_tree_peak_kb() // 1024,
        samples=sampler.samples if sampler else [],
        checkpoints=[{"id": i, **c} for i, c in sorted(sampler.checkpoints.items())] if sampler else [],
    )
    return result


def measure(spec: dict, heap: str, timeout: float) -> dict:
    """``run_worker`` in a fresh process whose gateway JVM (the MiniCluster) has ``heap``; stopped
    when its heap is exhausted or after ``timeout`` seconds."""
    env = {**os.environ, "JVM_ARGS": f"-Xmx{heap} -Xms{heap}"}
    argv = [sys.executable, "-m", "bench.state_scale", "--worker", json.dumps(spec)]
    with tempfile.TemporaryFile("w+") as out:
        worker = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.DEVNULL, text=True)
        started, gc_times, stopped = time.monotonic(), [], None
        while worker.poll() is None:
            time.sleep(5)  # polling the worker's JVM from outside its process tree
            elapsed = time.monotonic() - started
            gc_s = jvm_gc_seconds(worker.pid)
            if gc_s is not None:
                gc_times.append((elapsed, gc_s))
            window = [(t, gc) for t, gc in gc_times if t >= elapsed - GC_WINDOW_S]
            if len(window) >= 2 and window[-1][0] - window[0][0] >= GC_WINDOW_S * 0.8:
                share = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])
                if share >= GC_SHARE_EXHAUSTED:
                    stopped = f"heap exhausted: {100 * share:.0f} % of the last {GC_WINDOW_S} s in garbage collection"
            if elapsed > timeout:
                stopped = f"timed out after {timeout:.0f}s"
            if stopped:
                stop_tree(worker.pid)
                worker.wait()
                return {"ok": False, "error": stopped, "execute_s": round(elapsed, 1)}
        out.seek(0)
        lines = [line for line in out.read().splitlines() if line.startswith("STATE-RESULT ")]
    if lines:
        return json.loads(lines[-1][len("STATE-RESULT ") :])
    return {"ok": False, "error": f"worker exited {worker.returncode} without a result"}


def jvm_gc_seconds(worker: int) -> float | None:
    """Total garbage collection time of the worker's JVM so far (``jstat -gcutil``'s GCT)."""
    jvms = [pid for pid in process_tree(worker) if _comm(pid) == "java"]
    if not jvms:
        return None
    probe = subprocess.run(["jstat", "-gcutil", str(jvms[0])], capture_output=True, text=True)
    lines = probe.stdout.split("\n")
    try:
        header, values = lines[0].split(), lines[1].split()
        return float(values[header.index("GCT")])
    except (IndexError, ValueError):  # the JVM is starting or has just ended
        return None


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def stop_tree(root: int) -> None:
    """SIGKILL a process and its descendants (a JVM that is lost in garbage collection ignores less)."""
    for pid in reversed(process_tree(root)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def table(report: dict) -> str:
    lines = [
        f"State at scale, {report['date']}: `{report['command']}`; gateway JVM (the MiniCluster) "
        f"`-Xmx{report['heap']}`, managed memory {report.get('managed_memory', '128m')}, "
        f"checkpoints every {report['checkpoint_interval']}.",
        "",
        "| job | key state lives | backend | keys | result | ev/CPU-s | peak RSS | RocksDB on disk | "
        "checkpoints | last checkpoint: state, uploaded, duration |",
        "|---|---|---|---:|---|---:|---:|---:|---:|---|",
    ]
    for run in report["runs"]:
        r = run["result"]
        last = r["checkpoints"][-1] if r.get("checkpoints") else None
        lines.append(
            f"| {run['job']} | {LIVES[run['life']]} | {run['backend']} | {run['keys']:,} | "
            f"{'ok' if r['ok'] else 'FAILED: ' + r['error'].replace('|', '/')} | "
            f"{run.get('events_per_cpu_s') or ''} | {str(r['peak_rss_mb']) + ' MB' if r.get('peak_rss_mb') else ''} | "
            f"{max((s['rocksdb_mb'] for s in r.get('samples', [])), default=0)} MB | "
            f"{len(r.get('checkpoints', []))} | "
            + (f"{last['state_mb']} MB, {last['uploaded_mb']} MB, {last['duration_s']} s |" if last else "|")
        )
    return "\n".join(lines) + "\n"


def slopes(runs: list[dict]) -> None:
    """Events per CPU-second between consecutive key counts of one job, life and backend."""
    previous: dict[tuple, dict] = {}
    for run in runs:
        series = (run["job"], run["life"], run["backend"])
        r = run["result"]
        before = previous.get(series)
        if r["ok"] and before and r["cpu_s"] > before["result"]["cpu_s"]:
            run["events_per_cpu_s"] = round((run["keys"] - before["keys"]) / (r["cpu_s"] - before["result"]["cpu_s"]))
        if r["ok"]:
            previous[series] = run


def svg(report: dict) -> str:
    """State size (the checkpoints' full size, RocksDB's folder) and uploaded size over time: a
    panel for the largest key count each job, life and backend completed."""
    largest: dict[tuple, dict] = {}
    for run in report["runs"]:
        if run["result"].get("checkpoints"):
            largest[(run["job"], run["life"], run["backend"])] = run
    runs = list(largest.values())
    width, height, pad = 720, 170, 46
    panels = []
    for index, run in enumerate(runs):
        r = run["result"]
        top = index * (height + 20)
        t_max = max([s["t"] for s in r["samples"]] + [1])
        y_max = max([c["state_mb"] for c in r["checkpoints"]] + [s["rocksdb_mb"] for s in r["samples"]] + [1])

        def point(t: float, mb: float, top: int = top, t_max: float = t_max, y_max: float = y_max) -> str:
            x = pad + (width - pad - 10) * t / t_max
            y = top + height - 25 - (height - 50) * mb / y_max
            return f"{x:.1f},{y:.1f}"

        state = " ".join(point(c["t"], c["state_mb"]) for c in r["checkpoints"])
        uploaded = " ".join(point(c["t"], c["uploaded_mb"]) for c in r["checkpoints"])
        disk = " ".join(point(s["t"], s["rocksdb_mb"]) for s in r["samples"])
        title = f"{run['job']}, state lives {LIVES[run['life']]}, {run['backend']}, {run['keys']:,} keys"
        panels.append(
            f'<g><text x="{pad}" y="{top + 14}" font-size="12">{title}</text>'
            f'<text x="4" y="{top + 30}" font-size="10">{y_max:.0f} MB</text>'
            f'<text x="{width - 60}" y="{top + height - 8}" font-size="10">{t_max:.0f} s</text>'
            f'<line x1="{pad}" y1="{top + height - 25}" x2="{width - 10}" y2="{top + height - 25}" stroke="#999"/>'
            f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{state}"/>'
            f'<polyline fill="none" stroke="#d62728" stroke-width="2" points="{uploaded}"/>'
            + (
                f'<polyline fill="none" stroke="#2ca02c" stroke-dasharray="4 3" points="{disk}"/>'
                if "rocksdb" in run["backend"]
                else ""
            )
            + "</g>"
        )
    legend_y = len(runs) * (height + 20)
    legend = (
        f'<text x="{pad}" y="{legend_y + 12}" font-size="11"><tspan fill="#1f77b4">checkpoint: full state size</tspan>'
        ' · <tspan fill="#d62728">checkpoint: uploaded by it</tspan> · '
        '<tspan fill="#2ca02c">RocksDB working folder on disk</tspan></text>'
    )
    total = legend_y + 20
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total}" font-family="sans-serif">'
        f'<rect width="100%" height="100%" fill="white"/>{"".join(panels)}{legend}</svg>\n'
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.state_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", default="sessions", help="comma-separated: sessions, inactivity_timeouts")
    parser.add_argument("--keys", default="1000000,3000000,10000000", help="comma-separated key counts")
    parser.add_argument("--backends", default="hashmap,rocksdb", help=f"comma-separated: {', '.join(BACKENDS)}")
    parser.add_argument("--lives", default="growing", help=f"comma-separated: {', '.join(LIVES)}")
    parser.add_argument("--heap", default="1g", help="the gateway JVM's -Xmx: the MiniCluster's heap (default 1g)")
    parser.add_argument(
        "--managed-memory",
        default="512m",
        help="the MiniCluster's managed memory, RocksDB's cache and write buffers (default 512m: a "
        "TaskManager of flink-conf/config.yaml's 1728 MB has 512 MB)",
    )
    parser.add_argument("--checkpoint-interval", default="10s")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run (default 1800)")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir(), "pyflink-bench"))
    parser.add_argument("--name", default="state-scale")
    args = parser.parse_args(argv)
    if args.worker:
        result = run_worker(json.loads(args.worker))
        print("STATE-RESULT " + json.dumps(result), flush=True)
        return
    report = new_report(
        args.name,
        "python -m bench.state_scale " + " ".join(sys.argv[1:]),
        heap=args.heap,
        managed_memory=args.managed_memory,
        checkpoint_interval=args.checkpoint_interval,
    )
    report["runs"] = []
    for job in args.jobs.split(","):
        for life in args.lives.split(","):
            for backend in args.backends.split(","):
                failed = False
                for keys in sorted(int(k) for k in args.keys.split(",")):
                    if failed:  # a heap that was full with fewer keys is full with more
                        break
                    work = Path(tempfile.mkdtemp(prefix="state-scale-"))
                    spec = {
                        "job": job,
                        "life": life,
                        "backend": backend,
                        "input": str(keys_file(args.data_dir, keys)),
                        "work": str(work),
                        "checkpoint_interval": args.checkpoint_interval,
                        "managed_memory": args.managed_memory,
                    }
                    print(f"{job}, state lives {LIVES[life]}, {backend}, {keys:,} keys ...", flush=True)
                    result = measure(spec, args.heap, args.timeout)
                    shutil.rmtree(work, ignore_errors=True)
                    failed = not result["ok"]
                    print(
                        f"  {'ok' if result['ok'] else 'FAILED: ' + result['error']}: {result.get('execute_s')} s, "
                        f"{result.get('cpu_s')} CPU-s, peak {result.get('peak_rss_mb')} MB, "
                        f"{len(result.get('checkpoints', []))} checkpoints",
                        flush=True,
                    )
                    report["runs"].append(
                        {"job": job, "life": life, "backend": backend, "keys": keys, "result": result}
                    )
    slopes(report["runs"])
    save(report, RESULTS, table(report))
    (RESULTS / f"{args.name}.svg").write_text(svg(report))


if __name__ == "__main__":
    main()
