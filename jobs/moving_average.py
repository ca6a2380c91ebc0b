"""Sliding windows (seed section 1): a moving count, sum and average of ``value``.

Flink's ``SlidingEventTimeWindows`` are aligned to the epoch (a 10 s / 5 s window starts at :00,
:05, :10, ...), not to the first event as in the seed's simulation, and each window fires when the
watermark passes its end, not when the input is exhausted. The aggregation is incremental: a
window keeps counters, never its events. An event late for all of its windows goes to ``late``
(once); an event late for only some of them counts in the others. See docs/windowing.md.
``--window-operator jvm`` computes the same outputs with Flink's own HOP window aggregate instead.

    python -m jobs.moving_average --size 10s --slide 5s --key-field tenant --sink file --output out/
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pyflink.common import Types
from pyflink.datastream import DataStream
from pyflink.datastream.functions import AggregateFunction, ProcessWindowFunction
from pyflink.datastream.window import SlidingEventTimeWindows
from pyflink.table import StreamTableEnvironment

from runner.cli import main
from udfs.drawing import Windows
from udfs.events import ACTIVITY, STRING
from udfs.eventtime import ROWTIME, interval_literal, stamped, stamped_type
from udfs.job import ACTIVITY_EVENTS, LATE_AND_ERRORS, Count, Job, option, positive_duration
from udfs.joins import RECORD_TIME, Side, timed_stream, timed_table
from udfs.jvm import json_records
from udfs.timeutil import format_time
from udfs.windows import (
    FieldKey,
    allowed_lateness_option,
    key_value,
    late_record,
    late_records,
    late_tag,
    window_operator_option,
    window_start,
)

LATE = late_tag()
#: The fields ``--window-operator jvm`` can key by: SQL groups them by the value itself, as
#: :class:`FieldKey` does for text (a number's JSON text tells -0.0 from 0.0, SQL's equality not).
JVM_KEY_FIELDS = tuple(f.name for f in ACTIVITY.fields if f.kind == STRING)


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
    window_operator: str = window_operator_option("Flink's HOP window aggregate (Flink SQL)")

    def __post_init__(self):
        if self.size_ms < self.slide_ms:
            # A slide longer than the size leaves gaps between windows: events there would vanish.
            raise ValueError("--slide must be at most --size")
        if self.window_operator == "jvm":
            if self.size_ms % self.slide_ms:
                # Flink's HOP window aggregate refuses any other (at translation, not here).
                raise ValueError("--window-operator jvm needs --size to be a whole multiple of --slide (SQL's HOP)")
            if self.allowed_lateness_ms:
                # SQL windows fire once: no allowed lateness, no re-firing for late events.
                raise ValueError("--window-operator jvm takes no --allowed-lateness (SQL windows fire once)")
            if self.key_field is not None and self.key_field not in JVM_KEY_FIELDS:
                raise ValueError(
                    f"--window-operator jvm keys by {', '.join(JVM_KEY_FIELDS)} only, "
                    f"not {self.key_field!r} (--window-operator python keys by any field)"
                )


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


#: The same record as :func:`window_json`, formatted in the JVM from the HOP aggregate's row
#: (``--window-operator jvm``): its fields, in the row's order, and how each is written.
WINDOW_RECORD = (
    ("key", "text"),
    ("window_start", "sql-time"),
    ("window_end", "sql-time"),
    ("count", "integer"),
    ("sum", "float9"),
    ("avg", "float9"),
    ("leaving", "integer"),
)


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
    if options.window_operator == "jvm":
        return jvm_windows(t_env, streams["events"], options)
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


#: The planner's window aggregate in two phases (a local one before the keyed exchange) adds the
#: partial sums of a window in another grouping than the Python operator: floats would differ in
#: the last bits. One phase adds each window's values one by one, in arrival order, as Python does.
AGG_PHASES = "table.optimizer.agg-phase-strategy"


def jvm_windows(t_env: StreamTableEnvironment, events: DataStream, options: MovingAverageOptions):
    """The same outputs as :func:`build`'s Python window operator, computed by Flink SQL's HOP
    window TVF and aggregate, formatted in the JVM (:data:`WINDOW_RECORD`): Python sees late events only.

    Late is decided before the window, by the window operator's own test on the same watermark:
    an event whose *last* window has fired (``end - 1 <= watermark``) is late for all of them, so
    it goes to ``late`` and not to the aggregate. A partially late event reaches the aggregate,
    which drops it from each window that has fired and counts it in the others, as the Python
    operator does. Both tests see the same watermark only while the scan, the test and the window
    assignment run with the input's readers, connected forward, so that the aggregate behind the
    keyed exchange hears one watermark per reader, as the Python window operator does: the
    planner places them so (a test checks the plan). With several splits (a folder, a topic's
    partitions) each split's own watermark decides ``late`` here, the minimum over the splits in
    the Python operator: see docs/windowing.md.

    ``leaving`` refers to the window's time (``window_time``, its max timestamp) in the aggregate,
    which keeps each (event, window) pair a row of its own (the TVF's rows are aggregated as they
    are, not pre-aggregated per slide): every window adds its values in arrival order.
    """
    size, slide = options.size_ms, options.slide_ms
    # Window TVFs on a TIMESTAMP_LTZ rowtime align windows in the session time zone: UTC makes them
    # epoch-aligned, as SlidingEventTimeWindows are.
    t_env.get_config().set_local_timezone("UTC")
    source = "moving_average_events"
    t_env.create_temporary_view(source, timed_table(t_env, Side("events", events, ACTIVITY), None))
    last_window_end = f"ts - MOD(ts, {slide}) + {size}"
    late = f"COALESCE(TO_TIMESTAMP_LTZ({last_window_end} - 1, 3) <= CURRENT_WATERMARK({ROWTIME}), FALSE)"
    key = f"`{options.key_field}`" if options.key_field else "CAST(NULL AS STRING)"
    t_env.create_temporary_view(f"{source}_on_time", t_env.sql_query(f"SELECT * FROM {source} WHERE NOT {late}"))
    hop = f"HOP(TABLE {source}_on_time, DESCRIPTOR({ROWTIME}), {interval_literal(slide)}, {interval_literal(size)})"
    # `value`: missing counts as 0, and -0.0 as 0.0 (the Python operator's `value or 0.0`).
    value = "CASE WHEN `value` IS NULL OR `value` = 0 THEN 0.0 ELSE `value` END"
    windows = t_env.sql_query(f"""
        SELECT {key} AS k, CAST(window_start AS STRING) AS ws, CAST(window_end AS STRING) AS we,
               COUNT(*) AS c, SUM({value}) AS s, SUM({value}) / COUNT(*) AS a,
               SUM(CASE WHEN {ROWTIME} <= window_time - {interval_literal(size - slide)} THEN 1 ELSE 0 END) AS leaving,
               window_time AS {RECORD_TIME}
        FROM TABLE({hop})
        GROUP BY {key + ", " if options.key_field else ""}window_start, window_end, window_time""")
    late_rows = t_env.sql_query(f"SELECT `raw`, {ROWTIME} AS {RECORD_TIME} FROM {source} WHERE {late}")
    config = t_env.get_config()
    phases = config.get(AGG_PHASES, "AUTO")
    config.set(AGG_PHASES, "ONE_PHASE")
    try:  # the planner translates the query here
        window_rows = timed_stream(t_env, windows)
    finally:
        config.set(AGG_PHASES, phases)
    return {
        "windows": json_records(window_rows, WINDOW_RECORD, "format-windows"),
        "late": timed_stream(t_env, late_rows).map(late_record, Types.STRING()).name("format-late").uid("format-late"),
    }


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
)

if __name__ == "__main__":
    main(JOB)
