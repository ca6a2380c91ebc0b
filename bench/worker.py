"""One measured run in a fresh process (so JVMs share no warm-up or state):
``python -m bench.worker '<json spec>'``. Prints one line ``BENCH-RESULT {json}``.

spec: ``{"path": "job"|"sql"|"seed"|"stage"|"peer", "case", "peer": "bytewax"|"quix" (bench/peers/),
"bootstrap" and "broker_pid" (Quix's broker), "files": {name: path}, "out": dir or null,
"parallelism", "mode": "thread"|"process", "overrides": {Flink key: value} (after the project's
own settings), "argv": [more job options], "build": "module:function" (another design of the job),
"count_outputs": bool}``. Jobs run through the runner's seams (:func:`runner.run.prepare`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                children.setdefault(int(stat[stat.rindex(")") + 2 :].split()[1]), []).append(int(entry))
            except (OSError, ValueError):
                continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def process_tree_cpu_s() -> float:
    """CPU seconds (user + system, all threads) used so far by this process and its descendants
    (with the finished children they waited for):
    a measure that, unlike wall time, other load on the machine does not inflate much."""
    return sum(cpu_ticks(pid) for pid in process_tree(os.getpid())) / os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, and cutime + cstime: the children it waited for (Python
    workers of process mode that exited already); 0 for a process that is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return sum(int(x) for x in stat[stat.rindex(")") + 2 :].split()[11:15])
    except (OSError, ValueError, IndexError):
        return 0


def process_tree_peak_kb(root: int | None = None) -> int:
    """Sum of VmHWM (peak resident memory) of this process and all its descendants (the gateway
    JVM, and in process mode its Python workers)."""
    return process_tree_memory_kb("VmHWM", root)


def process_tree_memory_kb(field: str, root: int | None = None) -> int:
    """Sum of a ``/proc/<pid>/status`` memory field (``VmRSS``: resident now, ``VmHWM``: its peak)
    over this process (or ``root``) and all its descendants."""
    total = 0
    for pid in process_tree(root or os.getpid()):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def _prepared(spec, sink_args=()):
    """The case's job, built by the runner as ``python -m jobs.<name>`` would build it."""
    import importlib

    import runner.environment  # noqa: F401  (sets PYTHONPATH before the gateway JVM starts)
    from bench.cases import BOUND_MS, CASES
    from runner.cli import parse
    from runner.run import prepare

    case = CASES[spec["case"]]
    job = importlib.import_module(f"jobs.{case.job}").JOB
    argv = [
        *case.argv,
        "--out-of-orderness",
        f"{BOUND_MS}ms",
        "--parallelism",
        str(spec.get("parallelism", 1)),
        "--execution-mode",
        spec.get("mode", "thread"),
        *sink_args,
        *spec.get("argv", []),
    ]
    for option, name in case.inputs.items():
        argv += [option, spec["files"][name]]
    config = parse(job, argv)
    build = None
    if spec.get("build"):  # another design of the job than its own
        module, _, name = spec["build"].partition(":")
        build = getattr(importlib.import_module(module), name)
    return job, config, build, prepare


def run_job(spec) -> dict:
    started = time.monotonic()
    job, config, build, prepare = _prepared(spec, ["--sink", "file", "--output", spec["out"]])
    prepared = prepare(job, config, build=build, overrides=spec.get("overrides"))
    prepared.add_file_sinks(count=spec.get("count_outputs", True))
    cpu, built = process_tree_cpu_s(), time.monotonic()
    prepared.execute()
    done = time.monotonic()
    return {
        "setup_s": built - started,
        "execute_s": done - built,
        "cpu_s": process_tree_cpu_s() - cpu,
        "peak_rss_kb": process_tree_peak_kb(),
        "outputs": sorted(prepared.outputs),
    }


#: Where a single-input job's time goes: each stage runs the pipeline up to a point and discards.
STAGES = ["source", "parse", "eventtime", "keyby", "job-blackhole"]


def run_stage(spec) -> dict:
    """The job's pipeline cut after ``spec["stage"]``, into a blackhole table sink (JVM)."""
    from pyflink.common import Types
    from pyflink.table.expressions import lit

    from runner.environment import create_environment
    from runner.run import assemble
    from runner.sources import raw_records
    from udfs.events import ACTIVITY
    from udfs.parsing import parse_events, read_events
    from udfs.windows import FieldKey

    started = time.monotonic()
    job, config, _, _ = _prepared(spec)
    env, t_env = create_environment(config.job, config.execution, config.event_time, overrides=spec.get("overrides"))
    spec_ = job.inputs[0]
    raw = raw_records(env, config.source, [spec_], config.execution.parallelism)[spec_.name][0]
    bound = config.event_time.out_of_orderness_ms
    stage = spec["stage"]
    if stage == "source":
        stream = raw
    elif stage == "parse":
        stream, _ = parse_events(raw, job.name, spec_.schema)
    elif stage == "eventtime":
        stream, _ = read_events(t_env, raw, job.name, spec_.schema, bound)
    elif stage == "keyby":
        events, _ = read_events(t_env, raw, job.name, spec_.schema, bound)
        stream = events.key_by(FieldKey("user_id", [f.name for f in ACTIVITY.fields]), Types.STRING()).map(
            lambda e: e.user_id, Types.STRING()
        )
    else:  # the whole job, its outputs discarded
        outputs = list(assemble(t_env, job, config.event_time, {spec_.name: [raw]}, config.options).values())
        stream = outputs[0].union(*outputs[1:]) if len(outputs) > 1 else outputs[0]
    t_env.execute_sql("CREATE TEMPORARY TABLE discard (x INT) WITH ('connector' = 'blackhole')")
    table = t_env.from_data_stream(stream).select(lit(1).alias("x"))
    cpu, built = process_tree_cpu_s(), time.monotonic()
    table.execute_insert("discard").wait()
    done = time.monotonic()
    return {
        "setup_s": built - started,
        "execute_s": done - built,
        "cpu_s": process_tree_cpu_s() - cpu,
        "peak_rss_kb": process_tree_peak_kb(),
    }


def run_sql(spec) -> dict:
    from pyflink.table import EnvironmentSettings, TableEnvironment

    from bench.cases import CASES

    case = CASES[spec["case"]]
    started = time.monotonic()
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    config = t_env.get_config()
    config.set("parallelism.default", str(spec.get("parallelism", 1)))
    config.set("pipeline.auto-watermark-interval", "0")  # a watermark per record, as the jobs
    config.set("table.local-time-zone", "UTC")
    config.set("pipeline.name", f"bench-sql-{spec['case']}")
    paths = {table: spec["files"][name] for table, name in case.sql_inputs.items()}
    assert case.sql is not None, f"{spec['case']} has no SQL counterpart"
    *ddl, insert = case.sql(paths, spec.get("out"))
    for statement in ddl:
        t_env.execute_sql(statement)
    cpu, built = process_tree_cpu_s(), time.monotonic()
    t_env.execute_sql(insert).wait()
    done = time.monotonic()
    return {
        "setup_s": built - started,
        "execute_s": done - built,
        "cpu_s": process_tree_cpu_s() - cpu,
        "peak_rss_kb": process_tree_peak_kb(),
    }


def run_seed(spec) -> dict:
    from bench.cases import CASES

    case = CASES[spec["case"]]
    # The seed works on events already in memory: reading and decoding the file is not timed.
    inputs = {}
    for name, dataset_file in case.seed_inputs.items():
        with open(spec["files"][dataset_file], encoding="utf-8") as f:
            inputs[name] = [json.loads(line) for line in f if line.strip()]
    cpu, started = time.process_time(), time.monotonic()
    assert case.seed is not None, f"{spec['case']} has no seed simulation"
    results = case.seed(inputs)
    done = time.monotonic()
    return {
        "setup_s": 0.0,
        "execute_s": done - started,
        "cpu_s": time.process_time() - cpu,
        "results": results,
        # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork + exec.
        "peak_rss_kb": process_tree_peak_kb(),
    }


def run_peer(spec) -> dict:
    """The case's computation in a peer stream processor (bench/peers/): the peer builds its
    dataflow, then calls ``measure()`` before and ``measure(start)`` after running it."""
    import importlib

    from bench.peers import PEERS

    started = time.monotonic()
    broker = spec.get("broker_pid")
    built: list[float] = []

    def measure(start=None):
        if start is None:
            built.append(time.monotonic())
            return time.monotonic(), process_tree_cpu_s(), cpu_ticks(broker) if broker else 0
        t0, cpu0, ticks0 = start
        done = {"execute_s": time.monotonic() - t0, "cpu_s": process_tree_cpu_s() - cpu0}
        if broker:  # Quix's broker works for it, outside its process tree: reported beside it
            done["broker_cpu_s"] = (cpu_ticks(broker) - ticks0) / os.sysconf("SC_CLK_TCK")
        return done

    result = importlib.import_module(PEERS[spec["peer"]]).run(spec, measure)
    return {"setup_s": built[0] - started if built else 0.0, **result, "peak_rss_kb": process_tree_peak_kb()}


def main() -> None:
    spec = json.loads(sys.argv[1])
    started = time.monotonic()
    result = {"path": spec["path"], "ok": True}
    try:
        result.update(
            {"job": run_job, "sql": run_sql, "seed": run_seed, "stage": run_stage, "peer": run_peer}[spec["path"]](spec)
        )
    except Exception as error:  # reported in the table, not a crash of the whole benchmark
        import traceback

        traceback.print_exc()
        result.update(
            ok=False, error=f"{type(error).__name__}: {str(error).splitlines()[0][:300] if str(error) else ''}"
        )
    result["process_s"] = time.monotonic() - started
    print("BENCH-RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
