"""The trace behind ``--timeline``: what each input record met at the end of the event-time stage.

With ``--timeline``, :func:`runner.run.assemble` forks every input's event-timed stream into
:class:`TraceEvents`, which turns each record into one JSON line: the input and source it came
from, its place in arrival order, its event time, the watermark in force when it arrived and
whether it was already behind it. The job's own operators are untouched (the tap is a second
consumer of the stream, not a step in it), and without ``--timeline`` the tap does not exist.

The trace travels as one more stream beside the outputs: collected with them (``--sink print``,
tests) or written by a file sink into a scratch folder and read back (``--sink file``). The
drawing itself is :mod:`runner.timeline`, which needs no JVM.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from pyflink.common import Types
from pyflink.datastream import DataStream
from pyflink.datastream.functions import ProcessFunction, RuntimeContext

from runner.outputs import read_records

#: The name the trace is collected (or written) under; never a job's output.
TRACE = "timeline-trace"
#: Flink's watermark before the first one has arrived (Long.MIN_VALUE).
NO_WATERMARK = -(2**63)


class TraceEvents(ProcessFunction):
    """Each event-timed row -> ``{"input", "split", "seq", "at", "ts", "wm", "behind", "raw"}``.

    ``wm`` is the watermark this operator has seen before the record: the bridge emits one after
    every record (udfs/eventtime.py), so it is the one every operator after the bridge sees when
    the record arrives, the same :class:`udfs.metrics.EventTimeLag` publishes. ``seq`` numbers the
    records of one source in arrival order; ``at`` (wall-clock ns) orders the sources of a job
    with several inputs against each other.
    """

    def __init__(self, input_name: str, split: int):
        self.input_name = input_name
        self.split = split
        self.seq = 0

    def open(self, runtime_context: RuntimeContext):
        self.seq = 0

    def process_element(self, row, ctx):
        watermark = ctx.timer_service().current_watermark()
        self.seq += 1
        yield json.dumps(
            {
                "input": self.input_name,
                "split": self.split,
                "seq": self.seq,
                "at": time.time_ns(),
                "ts": row.ts,
                "wm": None if watermark is None or watermark <= NO_WATERMARK else watermark,
                "behind": bool(row.behind_watermark),
                "raw": row.raw,
            },
            ensure_ascii=False,
        )


def trace_events(timed: DataStream, input_name: str, split: int, parallelism: int) -> DataStream:
    """A fork of one source's event-timed stream into trace lines (operator ``trace-<input>``)."""
    name = f"{input_name}-{split}" if split else input_name
    return (
        timed.process(TraceEvents(input_name, split), Types.STRING())
        .name(f"trace-{name}")
        .uid(f"trace-{name}")
        .set_parallelism(parallelism)
    )


def scratch_folder() -> Path:
    """Where a file-sink run writes its trace, beside nothing of the user's (read, then removed)."""
    return Path(tempfile.mkdtemp(prefix="timeline-trace-"))


def read_trace(folder: Path) -> list[dict]:
    """The trace a file sink wrote under ``folder``; the folder is removed."""
    try:
        return read_records(folder / TRACE)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
