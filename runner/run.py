"""The one runner of every job: sources -> parsing and event time -> the job's ``build`` ->
outputs (with every input's parse errors in ``errors``) -> sinks, then a run summary.

Its seams are parameters, so tests and benchmarks drive the real pipeline without patching it:
``sources`` (e.g. in-memory records), ``build`` (another design of the job), ``overrides`` (Flink
configuration keys), and the sink, chosen by calling one method of :class:`PreparedJob`.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from py4j.protocol import Py4JJavaError
from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment

from runner.config import EventTimeConfig, RunConfig
from runner.environment import (
    create_environment,
    execution_mode,
    local_rest_url,
    restored_from,
    submitted_detached,
)
from runner.errors import option_error
from runner.outputs import read_file_outputs
from runner.progress import JobMetrics, ProgressLine, rest_overrides, run_to_end, wants_progress
from runner.sinks import collect_tagged, file_sink
from runner.sources import count_input_records, raw_records
from runner.trace import TRACE, read_trace, scratch_folder, trace_events
from udfs.eventtime import timed_row_type
from udfs.job import Job, Outputs, Streams
from udfs.metrics import ledger_counts, track_event_time_lag
from udfs.parsing import read_events, readers

#: The raw text records of every input, by input name (one stream per source of an input).
Sources = Callable[[StreamExecutionEnvironment], Mapping[str, list[DataStream]]]
Build = Callable[[StreamTableEnvironment, Streams, Any], Outputs]
#: How often a Kafka source checks its partitions for idleness (``--idleness``), in ms.
IDLENESS_CHECK_MS = 200


def assemble(
    t_env: StreamTableEnvironment,
    job: Job,
    event_time: EventTimeConfig,
    sources: Mapping[str, list[DataStream]],
    options: Any,
    build: Build | None = None,
    traces: list[DataStream] | None = None,
    source_watermarks: bool = False,
) -> dict[str, DataStream]:
    """Raw sources -> parsed, event-timed streams -> the job -> named outputs (errors included).

    With ``traces`` (a list, ``--timeline``), each source's event-timed stream is also forked
    into a trace stream appended there (runner/trace.py). ``source_watermarks``: the sources
    carry their own watermarks (Kafka's, per partition), which the event-time stage keeps."""
    several = len(job.inputs) > 1
    streams, errors = {}, []
    for spec in job.inputs:
        # One event-time stage per source (each file of a folder has its own): parsing,
        # watermarks and the lag gauges (udfs/metrics.py) run with its readers; the job's keyed
        # exchange is the first place where the records of different sources meet.
        timed = []
        for i, raw in enumerate(sources[spec.name]):
            name = f"{spec.name}-{i}" if i else spec.name
            events, invalid = read_events(
                t_env,
                raw,
                job.name,
                spec.schema,
                event_time.out_of_orderness_ms,
                label=spec.name if several else None,
                split=i,
                source_watermarks=source_watermarks,
            )
            lagged = track_event_time_lag(events, timed_row_type(spec.schema), name)
            timed.append(lagged.set_parallelism(readers(events)))
            if traces is not None:  # a second consumer of the stream: the job's path is unchanged
                traces.append(trace_events(lagged, spec.name, i, readers(events)))
            errors.append(invalid)
        streams[spec.name] = timed[0].union(*timed[1:]) if len(timed) > 1 else timed[0]
    outputs = dict((build or job.build)(t_env, streams, options))
    if "errors" in outputs:
        errors.append(outputs.pop("errors"))
    outputs["errors"] = errors[0].union(*errors[1:]) if len(errors) > 1 else errors[0]
    return outputs


@dataclass
class PreparedJob:
    """A job built on its environment, not yet executed; each ``to_*`` method adds one kind of sink
    and runs it."""

    job: Job
    config: RunConfig
    env: StreamExecutionEnvironment
    t_env: StreamTableEnvironment
    outputs: dict[str, DataStream]
    trace: DataStream | None = None  # --timeline: what each input record met (runner/trace.py)
    traced: list[dict] = field(default_factory=list)  # the trace, once run
    _trace_folder: Path | None = None

    def _collected(self) -> dict[str, DataStream]:
        return self.outputs if self.trace is None else {**self.outputs, TRACE: self.trace}

    def collect(self, echo: bool = False) -> dict[str, list[dict]]:
        """Run on bounded inputs; every output's records, collected by the client (``echo``: also
        printed as ``<output> | <record>`` lines as they come)."""
        records: dict[str, list[dict]] = {name: [] for name in self.outputs}
        width = max(map(len, self.outputs))
        for output, record in collect_tagged(self._collected(), self.job.name):
            if output == TRACE:
                self.traced.append(json.loads(record))
                continue
            if echo:
                print(f"{output:<{width}} | {record}", flush=True)
            records[output].append(json.loads(record))
        return records

    def add_file_sinks(self, count: bool = True) -> None:
        """Each output to ``<sink.output>/<output>/`` (``count``: through its records counter)."""
        directory = self.config.sink.output
        if directory is None:
            raise ValueError("file sinks need an output folder (--output)")
        for name, stream in self.outputs.items():
            file_sink(stream, directory, name, count)
        if self.trace is not None:  # not among the user's outputs: a scratch folder, read back
            self._trace_folder = scratch_folder()
            file_sink(self.trace, self._trace_folder, TRACE, count=False)

    def add_kafka_sinks(
        self, count: bool = True, ledger: str | None = None, retention: Mapping[str, int] | None = None
    ) -> None:
        """Each output to its topic; ``ledger``: a folder for the final counts (a local run);
        ``retention``: the ``retention.ms`` of the output topics that delete records by their
        timestamp (:func:`runner.kafka.output_retention`), whose older records are counted."""
        from runner.kafka import kafka_sink

        for name, stream in self.outputs.items():
            kafka_sink(stream, self.config.sink, name, count, ledger, (retention or {}).get(name))

    def execute(self, progress: ProgressLine | None = None, watch: Callable[[], None] | None = None) -> None:
        """Run the job into the sinks added, to its end, drawing ``progress`` if given and calling
        ``watch`` now and then (returns at submission when submitted detached). Ctrl-C (or
        SIGTERM) cancels the job, then raises KeyboardInterrupt."""
        if submitted_detached(self.env):
            self.env.execute(self.job.name)
            return
        client = self.env.execute_async(self.job.name)
        rest_url = local_rest_url(self.env)
        metrics = JobMetrics(rest_url, str(client.get_job_id())) if progress and rest_url else None

        def on_poll() -> None:
            if watch is not None:
                watch()
            if progress is not None and metrics is not None:
                progress.draw(*metrics.read())

        try:
            run_to_end(client, on_poll if watch or metrics else None)
            if metrics is not None and progress is not None:
                progress.complete()
        finally:
            if progress is not None:
                progress.done()
        if self._trace_folder is not None:
            self.traced = read_trace(self._trace_folder)


def prepare(
    job: Job,
    config: RunConfig,
    *,
    sources: Sources | None = None,
    build: Build | None = None,
    overrides: Mapping[str, str] | None = None,
    partitions: Mapping[str, int] | None = None,
    local_rest: Mapping[str, str] | None = None,
) -> PreparedJob:
    """Build the job on a new environment: on ``sources`` (default: the configured file or Kafka
    source; ``partitions`` of each Kafka topic size its readers), with ``build`` (default: the
    job's own), with Flink configuration ``overrides``."""
    kafka_watermarks = sources is None and config.source.kind == "kafka"
    if kafka_watermarks and (config.event_time.idleness_ms or config.event_time.max_drift_ms):
        # The source emits each partition's watermark on the record that raises it; whether a
        # partition is idle, Flink checks on the periodic watermark timer, which 0 turns off.
        overrides = {"pipeline.auto-watermark-interval": str(IDLENESS_CHECK_MS), **(overrides or {})}
    env, t_env = create_environment(
        config.job, config.execution, config.event_time, config.uses_kafka, overrides, local_rest
    )
    if config.build in job.fast_builds and job.fast_builds[config.build].reuses_objects:
        env.get_config().enable_object_reuse()
    raw: Mapping[str, list[DataStream]]
    if sources is None:
        raw = raw_records(env, config.source, job.inputs, config.execution.parallelism, partitions, config.event_time)
    else:
        raw = sources(env)
    traces: list[DataStream] | None = [] if config.timeline is not None else None
    build = build or job.build_named(config.build)
    outputs = assemble(t_env, job, config.event_time, raw, config.options, build, traces, kafka_watermarks)
    trace = (traces[0].union(*traces[1:]) if len(traces) > 1 else traces[0]) if traces else None
    return PreparedJob(job, config, env, t_env, outputs, trace)


def run(job: Job, config: RunConfig, *, build: Build | None = None, overrides: Mapping[str, str] | None = None) -> int:
    """Run the job on the configured sources and sinks and summarize it: the exit code.
    ``build`` and Flink configuration ``overrides`` as in :func:`prepare`."""
    # Warnings and errors only: third-party INFO lines (Beam at import) say nothing about the run.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    partitions: dict[str, int] = {}
    if config.uses_kafka:
        from runner.kafka import check_options

        partitions = check_options(config)  # one broker round trip, before the JVM starts
    # Progress is drawn from the local MiniCluster's REST endpoint, started only to draw it.
    show_progress = config.sink.kind != "print" and wants_progress()
    local_rest = rest_overrides() if show_progress else None
    prepared = prepare(job, config, build=build, overrides=overrides, partitions=partitions, local_rest=local_rest)
    detached = submitted_detached(prepared.env)
    if detached and config.timeline is not None:
        raise option_error(job.name, "--timeline needs an attached client: it draws the run once it has finished")
    restored = restored_from(prepared.env)
    if restored and config.source.kind == "kafka" and config.source.bounded:
        # The Kafka source restores each partition's stopping offset from the savepoint, and an
        # unbounded run's savepoint has none: the job would never end.
        raise option_error(
            job.name,
            f"--bounded does not apply to a job resumed from a savepoint ({restored}): its Kafka source takes the "
            "stopping offsets of the run that took it; resume without --bounded and end it with "
            "scripts/flink-cluster stop-with-savepoint",
        )
    if detached and config.sink.kind == "print":
        raise option_error(
            job.name, "--sink print needs an attached client: use --sink file or kafka with flink run --detached"
        )
    started = time.monotonic()
    records_in = count_input_records(config.source)
    progress = ProgressLine(records_in) if show_progress else None
    try:
        with terminated_like_interrupted():
            records, past_retention = _execute(prepared, detached, progress)
    except Py4JJavaError as error:
        # The job failed for good (restarts exhausted): its root cause, not a JVM stack trace.
        print(f"python -m jobs.{job.name}: job failed: {root_cause(str(error))}", file=sys.stderr, flush=True)
        return 1
    except Terminated:
        print(f"python -m jobs.{job.name}: terminated: the job was cancelled", file=sys.stderr, flush=True)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print(f"python -m jobs.{job.name}: interrupted: the job was cancelled", file=sys.stderr, flush=True)
        return 130
    if records is None:  # submitted detached: the outputs are the cluster's to write
        mode = execution_mode(prepared.env)
        print(
            f"{job.name}: submitted (python.execution-mode {mode}); the outputs are complete when the job has finished",
            file=sys.stderr,
            flush=True,
        )
        return 0
    balanced = summarize(job, records_in, records, time.monotonic() - started, past_retention)
    if config.timeline is not None and records is not None:
        from runner.timeline import write_timeline

        # --timeline refuses a Kafka sink: the records themselves are at hand, not only their counts.
        write_timeline(config, job.timeline, prepared.traced, cast(Mapping[str, list], records))
    return 0 if balanced else 1


def _execute(
    prepared: PreparedJob, detached: bool, progress: ProgressLine | None
) -> tuple[Mapping[str, list] | Mapping[str, int] | None, Mapping[str, int]]:
    """Run into the configured sink: what the outputs hold where the client can read it back (for
    a Kafka sink: how many records each output wrote; None when submitted detached), and how
    many records each Kafka output wrote past its topic's retention."""
    sink = prepared.config.sink
    if sink.kind == "print":
        return prepared.collect(echo=True), {}
    if sink.kind == "file":
        prepared.add_file_sinks()
        prepared.execute(progress)
        return (None if detached or sink.output is None else read_file_outputs(sink.output, prepared.outputs)), {}
    from runner.kafka import RetentionWarnings, output_retention

    retention = output_retention(sink, prepared.outputs)
    if detached:  # the TaskManagers log the first record past retention, and count them all
        prepared.add_kafka_sinks(retention=retention)
        prepared.execute()
        return None, {}
    with tempfile.TemporaryDirectory(prefix="counts-") as ledger:
        warnings = RetentionWarnings(prepared.job.name, sink, retention, ledger)
        prepared.add_kafka_sinks(ledger=ledger, retention=retention)
        prepared.execute(progress, warnings.poll if retention else None)
        return ledger_counts(ledger, prepared.outputs), warnings.counts()


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a service manager stopping the run): handled as Ctrl-C is."""


@contextmanager
def terminated_like_interrupted() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` in the main thread while the job runs, so that the job
    is cancelled and the run ends with one line, as after Ctrl-C (Python's default would end the
    client at once, without a word, and leave a local job to die with its JVM)."""

    def terminate(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def root_cause(text: str) -> str:
    """The line of a Java stack trace that says why a job failed: the innermost ``Caused by``
    (for a Python function, pemja's ``PythonException`` with the Python error)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    causes = [line.removeprefix("Caused by: ") for line in lines if line.startswith("Caused by: ")]
    return causes[-1] if causes else (lines[0] if lines else "(no message)")


def summarize(
    job: Job,
    records_in: int | None,
    records: Mapping[str, list] | Mapping[str, int],
    seconds: float,
    past_retention: Mapping[str, int] | None = None,
) -> bool:
    """One block at the end of a local run: records per output, and whether all ``records_in``
    input records are accounted for (when the records themselves are at hand: not their counts
    only); ``past_retention``: the records per Kafka output older than their topic's retention,
    which Kafka deletes. False only when the check could be made and failed."""
    lines = [f"run summary: {job.name} finished in {seconds:.1f}s"]
    balanced = True
    if records_in is not None:
        lines.append(f"  records in      {records_in}")
    for name, items in records.items():
        lines.append(f"  {name:<15} {items if isinstance(items, int) else len(items)}")
    if past_retention:
        per_output = ", ".join(f"{name} {n}" for name, n in past_retention.items())
        lines.append(
            f"  past retention  {sum(past_retention.values())} ({per_output}): written with event times older "
            "than their topic keeps records; Kafka deletes them at its next retention check"
        )
    if records_in is not None and not any(isinstance(items, int) for items in records.values()):
        accounted = job.accounted(records)  # type: ignore[arg-type]
        balanced = accounted == records_in
        verdict = "nothing lost" if balanced else "MISMATCH"
        lines.append(f"  accounted for   {accounted} of {records_in} input records: {verdict}")
    print("\n".join(lines), file=sys.stderr, flush=True)
    return balanced
