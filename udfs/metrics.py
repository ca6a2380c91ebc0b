"""Flink metrics shared by the jobs: records per output, and event-time lag."""

from __future__ import annotations

import os
import uuid

from pyflink.datastream import DataStream
from pyflink.datastream.functions import MapFunction, ProcessFunction, RuntimeContext
from pyflink.metrics import Counter

#: Metric group of the parsers' counters (``<operator>.records.in``, ``<operator>.records.invalid``).
GROUP = "records"
#: Key of the group under which every output counts its records: ``<operator>.output.<name>.records``,
#: which Prometheus exports as ``flink_taskmanager_job_task_operator_output_records{output="<name>"}``.
OUTPUT_GROUP = "output"


class CountRecords(MapFunction):
    """Counts the records of one output in the ``output.<name>.records`` counter and passes them on,
    optionally tagged with the output's name (``<output>\\t<record>``) for collecting sinks.

    With a ``ledger`` folder (a local run whose records the client cannot read back, such as a
    Kafka sink's), each parallel instance also writes its final count there when it closes: Flink
    drops a job's metrics with its MiniCluster, and Python functions cannot add accumulators.
    """

    def __init__(self, output: str, tag: bool = False, ledger: str | None = None):
        self.output = output
        self.tag = tag
        self.ledger = ledger
        self.counter: Counter
        self.count = 0

    def open(self, runtime_context: RuntimeContext):
        # A key-value group: the output is a label, so one query covers every output of every job.
        self.counter = runtime_context.get_metrics_group().add_group(OUTPUT_GROUP, self.output).counter("records")
        self.count = 0

    def map(self, record: str) -> str:
        self.counter.inc()
        self.count += 1
        return f"{self.output}\t{record}" if self.tag else record

    def close(self):
        if self.ledger:
            with open(os.path.join(self.ledger, f"{self.output}.{uuid.uuid4().hex}"), "w") as f:
                f.write(str(self.count))


def ledger_counts(ledger: str, outputs) -> dict[str, int]:
    """The final counts :class:`CountRecords` wrote to ``ledger``, summed per output."""
    counts = dict.fromkeys(outputs, 0)
    for name in os.listdir(ledger):
        output = name.rsplit(".", 1)[0]
        with open(os.path.join(ledger, name)) as f:
            counts[output] = counts.get(output, 0) + int(f.read() or 0)
    return counts


#: Metric group of the event-time gauges: ``<operator>.eventtime.<gauge>``.
EVENT_TIME_GROUP = "eventtime"


class _LastValue:
    """A gauge that shows the last value set.

    In thread mode a Python gauge callback would be called by Flink's metric threads, outside the
    Python thread that runs the job; the embedded "distribution" is a Java-side holder of the last
    value instead, updated from the job's thread. In process mode the callback runs in the Python
    worker at the end of each bundle, which is safe.
    """

    def __init__(self, group, name: str):
        self.value = 0
        self.holder = None
        if type(group).__module__.startswith("pyflink.fn_execution.metrics.embedded"):
            self.holder = group.distribution(name)
            self.holder.update(0)
        else:
            group.gauge(name, lambda: self.value)

    def set(self, value: int) -> None:
        if self.holder is None:
            self.value = value
        elif value != self.value:  # each update is a call into the JVM
            self.value = value
            self.holder.update(value)


class EventTimeLag(ProcessFunction):
    """Passes events on and publishes, as gauges, how far the watermark trails the data here:
    ``eventtime.lag_ms`` (max event time seen - current watermark; 0 until the first watermark),
    ``eventtime.max_event_time_ms`` and ``eventtime.watermark_ms``. A lag that keeps growing means
    a stalled watermark (an idle input, a source that stopped) and windows that do not fire."""

    def __init__(self):
        self.max_seen = None
        self.lag = self.max_event_time = self.watermark = None

    def open(self, runtime_context: RuntimeContext):
        group = runtime_context.get_metrics_group().add_group(EVENT_TIME_GROUP)
        self.lag = _LastValue(group, "lag_ms")
        self.max_event_time = _LastValue(group, "max_event_time_ms")
        self.watermark = _LastValue(group, "watermark_ms")

    def process_element(self, value, ctx):
        ts = ctx.timestamp()
        if ts is not None and (self.max_seen is None or ts > self.max_seen):
            self.max_seen = ts
            self.max_event_time.set(ts)
        watermark = ctx.timer_service().current_watermark()
        if self.max_seen is not None and watermark > _NO_WATERMARK:
            self.watermark.set(watermark)
            self.lag.set(max(0, self.max_seen - watermark))
        yield value


_NO_WATERMARK = -(2**63)


def track_event_time_lag(events: DataStream, row_type, name: str) -> DataStream:
    """``events`` with :class:`EventTimeLag` gauges (operator ``event-time-<name>``)."""
    return events.process(EventTimeLag(), row_type).name(f"event-time-{name}").uid(f"event-time-{name}")
