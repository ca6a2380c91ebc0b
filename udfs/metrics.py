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
    counter = functions().CountRecords(output, tag, ledger)
    return java_map(stream, counter, Types.STRING(), f"count-{output}")


def ledger_counts(ledger: str, outputs) -> dict[str, int]:
    """The final counts :func:`count_records` wrote to ``ledger``, summed per output."""
    counts = dict.fromkeys(outputs, 0)
    for name in os.listdir(ledger):
        output = name.rsplit(".", 1)[0]
        with open(os.path.join(ledger, name)) as f:
            counts[output] = counts.get(output, 0) + int(f.read() or 0)
    return counts


def track_event_time_lag(events: DataStream, row_type: TypeInformation, name: str) -> DataStream:
    """``events`` (of type ``row_type``) through the event-time gauges (operator
    ``event-time-<name>``, a JVM function: ``EventTimeLag.java``): ``eventtime.lag_ms``, the
    newest event time seen minus the current watermark (0 until the first watermark), and its two
    terms, ``eventtime.max_event_time_ms`` and ``eventtime.watermark_ms``. A lag that keeps
    growing means a stalled watermark (an idle input, a source that stopped) and windows that do
    not fire."""
    return DataStream(java_process(events, functions().EventTimeLag(), row_type, f"event-time-{name}"))
