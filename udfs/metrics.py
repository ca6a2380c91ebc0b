"""Flink metrics shared by the jobs: records per output, and event-time lag."""

from __future__ import annotations

import os

from pyflink.common import Types
from pyflink.common.typeinfo import TypeInformation
from pyflink.datastream import DataStream

from udfs.jvm import functions, java_map, java_process

#: Metric group of the jobs' record counters (``<operator>.records.<counter>``), the one the JVM
#: parser counts ``in`` and ``invalid`` in (``ParseEvents.GROUP``).
GROUP = "records"


def count_records(stream: DataStream, output: str, tag: bool = False, ledger: str | None = None) -> DataStream:
    """``stream`` through its output's ``output.<name>.records`` counter (operator ``count-<output>``;
    in Prometheus ``flink_taskmanager_job_task_operator_output_records{output="<name>"}``),
    optionally tagged with the output's name (``<output>\t<record>``) for a collecting sink.

    With a ``ledger`` folder (a local run whose records the client cannot read back, such as a
    Kafka sink's), each parallel instance also writes its final count there when it closes
    (:func:`ledger_counts` sums them): Flink drops a job's metrics with its MiniCluster. The
    counter is a JVM function (``CountRecords.java``): no Python per output record.
    """
    counter = functions().metrics.CountRecords(output, tag, ledger)
    return java_map(stream, counter, Types.STRING(), f"count-{output}")


def ledger_counts(ledger: str, outputs) -> dict[str, int]:
    """The final counts :func:`count_records` (or :func:`watch_retention`) wrote to ``ledger``,
    summed per output (a folder inside ``ledger`` is another ledger's)."""
    counts = dict.fromkeys(outputs, 0)
    for name in os.listdir(ledger):
        if os.path.isdir(os.path.join(ledger, name)):
            continue
        output = name.rsplit(".", 1)[0]
        with open(os.path.join(ledger, name)) as f:
            counts[output] = counts.get(output, 0) + int(f.read() or 0)
    return counts


def watch_retention(stream: DataStream, output: str, topic: str, retention_ms: int, ledger: str | None) -> DataStream:
    """``stream`` (one output on its way to Kafka ``topic``) through the
    ``output.<name>.past_retention`` counter (operator ``retention-<output>``, a JVM function:
    ``RetentionWatch.java``): the records whose timestamp, the event time the sink writes as their
    Kafka timestamp, is older than the topic's ``retention_ms`` when they are written, which Kafka
    deletes at its next retention check. With a ``ledger`` folder each parallel instance writes
    its count there at the first such record and when it closes (:func:`ledger_counts`)."""
    watch = functions().metrics.RetentionWatch(output, topic, retention_ms, ledger)
    return DataStream(java_process(stream, watch, Types.STRING(), f"retention-{output}"))


def track_event_time_lag(events: DataStream, row_type: TypeInformation, name: str) -> DataStream:
    """``events`` (of type ``row_type``) through the event-time gauges (operator
    ``event-time-<name>``, a JVM function: ``EventTimeLag.java``): ``eventtime.lag_ms``, the
    newest event time seen minus the current watermark (0 until the first watermark), and its two
    terms, ``eventtime.max_event_time_ms`` and ``eventtime.watermark_ms``. A lag that keeps
    growing means a stalled watermark (an idle input, a source that stopped) and windows that do
    not fire."""
    return DataStream(java_process(events, functions().metrics.EventTimeLag(), row_type, f"event-time-{name}"))
