"""``moving_average --build jvm``: the same windows from Flink SQL's HOP window table function
and aggregate, formatted in the JVM; Python sees late events only. It computes the Python build's
outputs exactly where SQL's windows can: a size that is a whole multiple of the slide, no allowed
lateness (SQL windows fire once), a key field of text; other options are refused."""

from __future__ import annotations

from typing import Any

from pyflink.common import Types
from pyflink.datastream import DataStream
from pyflink.table import StreamTableEnvironment

from udfs.events import ACTIVITY, STRING
from udfs.eventtime import ROWTIME, interval_literal
from udfs.job import FastBuild
from udfs.joins import RECORD_TIME, Side, timed_stream, timed_table
from udfs.jvm import json_records
from udfs.windows import late_record

#: The fields ``--build jvm`` can key by: SQL groups them by the value itself, as
#: :class:`FieldKey` does for text (a number's JSON text tells -0.0 from 0.0, SQL's equality not).
JVM_KEY_FIELDS = tuple(f.name for f in ACTIVITY.fields if f.kind == STRING)


#: The same record as ``jobs.moving_average.window_json``, formatted in the JVM from the HOP
#: aggregate's row: its fields, in the row's order, and how each is written.
WINDOW_RECORD = (
    ("key", "text"),
    ("window_start", "sql-time"),
    ("window_end", "sql-time"),
    ("count", "integer"),
    ("sum", "float9"),
    ("avg", "float9"),
    ("leaving", "integer"),
)


#: The planner's window aggregate in two phases (a local one before the keyed exchange) adds the
#: partial sums of a window in another grouping than the Python operator: floats would differ in
#: the last bits. One phase adds each window's values one by one, in arrival order, as Python does.
AGG_PHASES = "table.optimizer.agg-phase-strategy"


def build(t_env: StreamTableEnvironment, streams, options: Any) -> dict[str, DataStream]:
    """The same outputs as ``jobs.moving_average.build``'s Python window operator, computed by Flink SQL's HOP
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
    t_env.create_temporary_view(source, timed_table(t_env, Side("events", streams["events"], ACTIVITY), None))
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


def refuses(options: Any) -> str | None:
    """Why SQL's HOP windows cannot give these options' outputs exactly, or None."""
    if options.size_ms % options.slide_ms:
        # Flink's HOP window aggregate refuses any other (at translation, not here).
        return "--build jvm needs --size to be a whole multiple of --slide (SQL's HOP)"
    if options.allowed_lateness_ms:
        # SQL windows fire once: no allowed lateness, no re-firing for late events.
        return "--build jvm takes no --allowed-lateness (SQL windows fire once)"
    if options.key_field is not None and options.key_field not in JVM_KEY_FIELDS:
        return (
            f"--build jvm keys by {', '.join(JVM_KEY_FIELDS)} only, "
            f"not {options.key_field!r} (--build python keys by any field)"
        )
    return None


JVM = FastBuild(build, help="Flink's HOP window aggregate (Flink SQL)", refuses=refuses, reuses_objects=True)
