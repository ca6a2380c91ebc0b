"""Sliding windows (seed section 1): a moving count, sum and average of ``value``.

Flink's ``SlidingEventTimeWindows`` are aligned to the epoch (a 10 s / 5 s window starts at :00,
:05, :10, ...), not to the first event as in the seed's simulation, and each window fires when the
watermark passes its end, not when the input is exhausted. The aggregation is incremental: a
window keeps counters, never its events. An event late for all of its windows goes to ``late``
(once); an event late for only some of them counts in the others. See docs/windowing.md.
``--build jvm`` (jobs/jvm/moving_average.py) computes the same outputs with Flink SQL's HOP window
aggregate instead.

    python -m jobs.moving_average --size 10s --slide 5s --key-field tenant --sink file --output out/
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pyflink.common import Types
from pyflink.datastream import DataStream
from pyflink.datastream.functions import AggregateFunction, ProcessWindowFunction
from pyflink.datastream.window import SlidingEventTimeWindows

from jobs.jvm.moving_average import JVM
from runner.cli import main
from udfs.drawing import Windows
from udfs.events import ACTIVITY
from udfs.eventtime import stamped, stamped_type
from udfs.job import ACTIVITY_EVENTS, LATE_AND_ERRORS, Count, Job, option, positive_duration
from udfs.timeutil import format_time
from udfs.windows import (
    FieldKey,
    allowed_lateness_option,
    key_value,
    late_records,
    late_tag,
    window_start,
)

LATE = late_tag()


@dataclass(frozen=True)
class MovingAverageOptions:
    size_ms: int = option("--size", positive_duration, "10s", "window size (default 10s)")
    slide_ms: int = option("--slide", positive_duration, "5s", "how often a window starts (default 5s)")
    key_field: str | None = option(
        "--key-field",
        None,
        None,
        "one moving average per value of this event field (default: one global stream)",
        metavar="FIELD",
    )
    allowed_lateness_ms: int = allowed_lateness_option()

    def __post_init__(self):
        if self.size_ms < self.slide_ms:
            # A slide longer than the size leaves gaps between windows: events there would vanish.
            raise ValueError("--slide must be at most --size")


class CountSum(AggregateFunction):
    """Incremental ``(count, sum of value, events per slide)``; a missing value counts as 0.

    The per-slide counts (at most size/slide entries) give each window its ``leaving`` count.
    """

    def __init__(self, slide_ms: int):
        self.slide = slide_ms

    def create_accumulator(self):
        return 0, 0.0, {}

    def add(self, event, acc):
        count, total, slides = acc
        pane = window_start(event.ts, self.slide)
        slides[pane] = slides.get(pane, 0) + 1
        return count + 1, total + (event.value or 0.0), slides

    def get_result(self, acc):
        return acc

    def merge(self, a, b):
        slides = dict(a[2])
        for pane, n in b[2].items():
            slides[pane] = slides.get(pane, 0) + n
        return a[0] + b[0], a[1] + b[1], slides


def window_json(key, start: str, end: str, count: int, total: float, leaving: int) -> str:
    """SPEC's ``windows`` record, from either window operator."""
    return json.dumps(
        {
            "key": key,
            "window_start": start,
            "window_end": end,
            "count": count,
            "sum": round(total, 9),  # hides float addition noise (0.1 + 0.2)
            "avg": round(total / count, 9),
            # Events in the window's first slide: this is the last window they are part of.
            "leaving": leaving,
        },
        ensure_ascii=False,
    )


class WindowResult(ProcessWindowFunction):
    """The aggregate plus the window's bounds -> SPEC's ``windows`` record, with the window's
    max timestamp as its time (see :func:`udfs.eventtime.stamped`)."""

    def process(self, key, context, results):
        count, total, slides = next(iter(results))
        window = context.window()
        bounds = format_time(window.start), format_time(window.end)
        yield window_json(key_value(key), *bounds, count, total, slides.get(window.start, 0)), window.max_timestamp()


def build(t_env, streams, options: MovingAverageOptions) -> dict[str, DataStream]:
    windows = (
        streams["events"]
        .key_by(FieldKey(options.key_field, [f.name for f in ACTIVITY.fields]), Types.STRING())
        .window(SlidingEventTimeWindows(options.size_ms, options.slide_ms, 0))
        .allowed_lateness(options.allowed_lateness_ms)
        .side_output_late_data(LATE)
        .aggregate(
            CountSum(options.slide_ms),
            WindowResult(),
            accumulator_type=Types.PICKLED_BYTE_ARRAY(),
            output_type=stamped_type(),
        )
        .name("sliding-windows")
        .uid("sliding-windows")
    )
    return {"windows": stamped(windows, "windows"), "late": late_records(windows.get_side_output(LATE))}


#: Every on-time event is in the leaving count of exactly one window, its last (which closes
#: last: an event that missed it missed all its windows and is in late). A window re-fired by
#: allowed lateness repeats its counts, updated: its largest leaving counts.
ACCOUNTING = (Count("windows", "leaving", per=("key", "window_start", "window_end")), *LATE_AND_ERRORS)
JOB = Job(
    name="moving_average",
    doc=__doc__,
    inputs=(ACTIVITY_EVENTS,),
    options=MovingAverageOptions,
    build=build,
    accounting=ACCOUNTING,
    timeline={"windows": Windows(key="key")},
    fast_builds={"jvm": JVM},
)

if __name__ == "__main__":
    main(JOB)
