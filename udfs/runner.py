"""Wires a job's pure ``build`` to its sources and sinks, runs it, and prints a run summary.

A job's pipeline is a callable ``(t_env, streams) -> outputs``: ``streams`` maps each input's name
to its typed, event-timed stream; ``outputs`` maps output names to streams of JSON strings. The
runner adds the parse errors of every input to the ``errors`` output.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from argparse import Namespace
from typing import Callable, Mapping

from py4j.protocol import Py4JJavaError
from pyflink.datastream import DataStream
from pyflink.table import StreamTableEnvironment

from udfs.environment import create_environment, execution_mode, submitted_detached
from udfs.eventtime import timed_row_type
from udfs.metrics import track_event_time_lag
from udfs.options import option_error
from udfs.sinks import collect_tagged, file_sink, read_file_outputs
from udfs.sources import files_of, raw_records, read_events, readers

Pipeline = Callable[[StreamTableEnvironment, Mapping[str, DataStream]], Mapping[str, DataStream]]
#: How many input records a job's outputs account for (aggregates count the events they hold).
Accounting = Callable[[Mapping[str, list]], int]

def assemble(t_env: StreamTableEnvironment, options: Namespace, sources: Mapping[str, DataStream | list[DataStream]],
             pipeline: Pipeline) -> dict[str, DataStream]:
    """Raw sources -> parsed, event-timed streams -> the job -> named outputs (errors included)."""
    several = len(options.inputs) > 1
    streams, errors = {}, []
    for spec in options.inputs:
        source = sources[spec.name]
        # One event-time stage per source (each file of a folder has its own): parsing,
        # watermarks and the lag gauges (udfs/metrics.py) run with its readers; the job's keyed
        # exchange is the first place where the records of different sources meet.
        timed = []
        for i, raw in enumerate(source if isinstance(source, list) else [source]):
            name = f"{spec.name}-{i}" if i else spec.name
            events, invalid = read_events(t_env, raw, options.job, spec, options.out_of_orderness,
                                          label=spec.name if several else None, split=i)
            timed.append(track_event_time_lag(events, timed_row_type(spec.schema), name).set_parallelism(readers(events)))
            errors.append(invalid)
        streams[spec.name] = timed[0].union(*timed[1:]) if len(timed) > 1 else timed[0]
    outputs = dict(pipeline(t_env, streams))
    if "errors" in outputs:
        errors.append(outputs.pop("errors"))
    outputs["errors"] = errors[0].union(*errors[1:]) if len(errors) > 1 else errors[0]
    return outputs


def run(options: Namespace, pipeline: Pipeline, accounting: Accounting | None = None) -> int:
    """Build the job on the sources and sinks the options name, run it, summarize. Exit code."""
    # Warnings and errors only: third-party INFO lines (Beam at import) say nothing about the run.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    partitions: dict[str, int] = {}
    if "kafka" in (options.source, options.sink):
        from udfs.kafka import check_options

        partitions = check_options(options)  # one broker round trip, before the JVM starts
    env, t_env = create_environment(options)
    detached = submitted_detached(env)
    if detached and options.sink == "print":
        raise option_error(options.job, "--sink print needs an attached client: use --sink file or kafka with "
                                        "flink run --detached")
    sources = {spec.name: raw_records(env, options, spec, partitions) for spec in options.inputs}
    outputs = assemble(t_env, options, sources, pipeline)
    started = time.monotonic()
    try:
        records = _execute(env, options, outputs, detached)
    except Py4JJavaError as error:
        # The job failed for good (restarts exhausted): its root cause, not a JVM stack trace.
        print(f"python -m jobs.{options.job}: job failed: {root_cause(str(error))}", file=sys.stderr, flush=True)
        return 1
    if detached:
        return _submitted(options, execution_mode(env))
    balanced = summarize(options, records, accounting, time.monotonic() - started)
    return 0 if balanced else 1


def _execute(env, options: Namespace, outputs: Mapping[str, DataStream], detached: bool) -> Mapping[str, list] | None:
    """Run the job into the sink the options name; what the outputs hold where the client can
    read it back (None for Kafka, or when submitted detached)."""
    if options.sink == "print":
        records = {name: [] for name in outputs}
        width = max(map(len, outputs))
        for output, record in collect_tagged(outputs, options.job):
            print(f"{output:<{width}} | {record}", flush=True)
            records[output].append(json.loads(record))
        return records
    if options.sink == "file":
        for name, stream in outputs.items():
            file_sink(stream, options.output, name)
        env.execute(options.job)
        return None if detached else read_file_outputs(options.output, outputs)
    from udfs.kafka import kafka_sink

    for name, stream in outputs.items():
        kafka_sink(stream, options, name)
    env.execute(options.job)
    return None


def root_cause(text: str) -> str:
    """The line of a Java stack trace that says why a job failed: the innermost ``Caused by``
    (for a Python function, pemja's ``PythonException`` with the Python error)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    causes = [line.removeprefix("Caused by: ") for line in lines if line.startswith("Caused by: ")]
    return causes[-1] if causes else (lines[0] if lines else "(no message)")


def _submitted(options: Namespace, mode: str) -> int:
    print(f"{options.job}: submitted (python.execution-mode {mode}); the outputs are complete when the job has "
          "finished", file=sys.stderr, flush=True)
    return 0


def summarize(options: Namespace, records: Mapping[str, list] | None, accounting: Accounting | None,
              seconds: float) -> bool:
    """One block at the end of a local run: records per output, and whether all input is accounted
    for. False only when the check could be made and failed."""
    lines = [f"run summary: {options.job} finished in {seconds:.1f}s"]
    balanced = True
    records_in = _count_input_records(options)
    if records_in is not None:
        lines.append(f"  records in      {records_in}")
    if records is None:
        lines.append("  per-output counts: Flink metrics '<operator>.records.<output>' (web UI / metric reporters)")
    else:
        for name, items in records.items():
            lines.append(f"  {name:<15} {len(items)}")
        if accounting and records_in is not None:
            accounted = accounting(records)
            balanced = accounted == records_in
            verdict = "nothing lost" if balanced else "MISMATCH"
            lines.append(f"  accounted for   {accounted} of {records_in} input records: {verdict}")
    print("\n".join(lines), file=sys.stderr, flush=True)
    return balanced


def _count_input_records(options: Namespace) -> int | None:
    if options.source != "file":
        return None
    total = 0
    for spec in options.inputs:
        for f in files_of(getattr(options, spec.dest)):  # the files the source reads
            total += sum(1 for _ in f.open("rb"))
    return total
