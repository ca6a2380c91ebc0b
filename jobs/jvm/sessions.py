"""``sessions --build jvm``: the same sessions on Flink's Java window operator, of which PyFlink's
Python one is a port (the same merging, allowed lateness and late side output), with the session
record written in the JVM (``SessionSummary.java``, the bytes ``jobs.sessions.SessionSummary``
writes). Flink's window operator stamps each record with the window's max timestamp itself."""

from __future__ import annotations

from typing import Any

from pyflink.common import Types
from pyflink.datastream import DataStream, OutputTag
from pyflink.java_gateway import get_gateway

from udfs.events import ACTIVITY
from udfs.eventtime import timed_row_type
from udfs.job import FastBuild
from udfs.jvm import functions
from udfs.windows import late_records


def build(t_env, streams, options: Any) -> dict[str, DataStream]:
    jvm = get_gateway().jvm
    late = OutputTag("late", timed_row_type(ACTIVITY)).get_java_output_tag()
    field = ACTIVITY.names.index
    duration = jvm.java.time.Duration.ofMillis
    sessions = (
        streams["events"]
        ._j_data_stream.keyBy(functions().windows.RowFieldKey(field("user_id")), Types.STRING().get_java_type_info())
        .window(
            jvm.org.apache.flink.streaming.api.windowing.assigners.EventTimeSessionWindows.withGap(
                duration(options.gap_ms)
            )
        )
        .allowedLateness(duration(options.allowed_lateness_ms))
        .sideOutputLateData(late)
        .process(functions().windows.SessionSummary(field("ts"), field("action")), Types.STRING().get_java_type_info())
        .name("session-windows")
        .uid("session-windows")
    )
    return {"sessions": DataStream(sessions), "late": late_records(DataStream(sessions.getSideOutput(late)))}


JVM = FastBuild(build, help="Flink's own EventTimeSessionWindows (Java)", reuses_objects=True)
