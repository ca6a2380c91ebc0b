"""Flink metrics shared by the jobs: records per output, and event-time lag."""

from __future__ import annotations

from pyflink.datastream.functions import MapFunction, RuntimeContext

#: Metric group under which every job counts its records (``<operator>.records.<output>``).
GROUP = "records"


class CountRecords(MapFunction):
    """Counts the records of one output in the ``records.<output>`` counter and passes them on,
    optionally tagged with the output's name (``<output>\\t<record>``) for collecting sinks."""

    def __init__(self, output: str, tag: bool = False):
        self.output = output
        self.tag = tag
        self.counter = None

    def open(self, runtime_context: RuntimeContext):
        self.counter = runtime_context.get_metrics_group().add_group(GROUP).counter(self.output)

    def map(self, record: str) -> str:
        self.counter.inc()
        return f"{self.output}\t{record}" if self.tag else record
