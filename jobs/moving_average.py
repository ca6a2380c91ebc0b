"""Sliding windows (seed section 1): a moving count, sum and average of ``value``.

Flink's ``SlidingEventTimeWindows`` are aligned to the epoch (a 10 s / 5 s window starts at :00,
:05, :10, ...), not to the first event as in the seed's simulation, and each window fires when the
watermark passes its end, not when the input is exhausted. The aggregation is incremental: a
window keeps counters, never its events. An event late for all of its windows goes to ``late``
(once); an event late for only some of them counts in the others. See docs/windowing.md.

    python -m jobs.moving_average --size 10s --slide 5s --key-field tenant --sink file --output out/
"""

from __future__ import annotations

import json

from pyflink.common import Types
from pyflink.datastream import DataStream
from pyflink.datastream.functions import AggregateFunction, ProcessWindowFunction
from pyflink.datastream.window import SlidingEventTimeWindows

from udfs.events import ACTIVITY
from udfs.eventtime import stamped, stamped_type
from udfs.options import Input, duration, option_error, parse_options, positive_duration, run_cli
from udfs.runner import run
from udfs.timeutil import format_time, parse_duration
from udfs.windows import FieldKey, key_value, late_records, late_tag, window_start

JOB = "moving_average"
INPUTS = [Input("events", ACTIVITY, "activity.jsonl")]
LATE = late_tag()


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


class WindowResult(ProcessWindowFunction):
    """The aggregate plus the window's bounds -> SPEC's ``windows`` record, with the window's
    max timestamp as its time (see :func:`udfs.eventtime.stamped`)."""

    def process(self, key, context, results):
        count, total, slides = next(iter(results))
        window = context.window()
        yield json.dumps({
            "key": key_value(key),
            "window_start": format_time(window.start),
            "window_end": format_time(window.end),
            "count": count,
            "sum": round(total, 9),  # hides float addition noise (0.1 + 0.2)
            "avg": round(total / count, 9),
            # Events in the window's first slide: this is the last window they are part of.
            "leaving": slides.get(window.start, 0),
        }, ensure_ascii=False), window.max_timestamp()


def build(events: DataStream, *, size_ms: int, slide_ms: int, key_field: str | None = None,
          allowed_lateness_ms: int = 0) -> dict[str, DataStream]:
    windows = (
        events.key_by(FieldKey(key_field, [f.name for f in ACTIVITY.fields]), Types.STRING())
        .window(SlidingEventTimeWindows(size_ms, slide_ms, 0))
        .allowed_lateness(allowed_lateness_ms)
        .side_output_late_data(LATE)
        .aggregate(CountSum(slide_ms), WindowResult(),
                   accumulator_type=Types.PICKLED_BYTE_ARRAY(), output_type=stamped_type())
        .name("sliding-windows").uid("sliding-windows")
    )
    return {"windows": stamped(windows, "windows"), "late": late_records(windows.get_side_output(LATE))}


def accounting(outputs) -> int:
    """Every on-time event is counted in ``leaving`` of exactly one window (its last one, which
    closes last: an event that missed it missed all its windows and is in ``late``).

    A window re-fired by allowed lateness repeats its counts, updated: the last firing counts.
    """
    leaving = {}
    for w in outputs["windows"]:
        slot = (json.dumps(w["key"]), w["window_start"], w["window_end"])
        leaving[slot] = max(leaving.get(slot, 0), w["leaving"])
    return sum(leaving.values()) + len(outputs["late"]) + len(outputs["errors"])


def options(argv=None):
    def configure(group):
        group.add_argument("--size", type=positive_duration, default=parse_duration("10s"), metavar="DURATION",
                           help="window size (default 10s)")
        group.add_argument("--slide", type=positive_duration, default=parse_duration("5s"), metavar="DURATION",
                           help="how often a window starts (default 5s)")
        group.add_argument("--key-field", default=None, metavar="FIELD",
                           help="one moving average per value of this event field (default: one global stream)")
        group.add_argument("--allowed-lateness", type=duration, default=0, metavar="DURATION")

    opts = parse_options(JOB, INPUTS, argv, configure, description=__doc__.splitlines()[0])
    if opts.size < opts.slide:
        # A slide longer than the size leaves gaps between windows: events there would vanish.
        raise option_error(JOB, "--slide must be at most --size")
    return opts


def pipeline(opts):
    return lambda t_env, streams: build(streams["events"], size_ms=opts.size, slide_ms=opts.slide,
                                        key_field=opts.key_field, allowed_lateness_ms=opts.allowed_lateness)


def main(argv=None) -> int:
    opts = options(argv)
    return run(opts, pipeline(opts), accounting)


if __name__ == "__main__":
    run_cli(f"jobs.{JOB}")
