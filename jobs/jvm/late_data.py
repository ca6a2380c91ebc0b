"""``late_data --build jvm``: the same windows on Flink's Java window operator, of which PyFlink's
Python one is a port, with Java ports of the job's functions (``NotingEventTimeTrigger.java``,
``CountSum.java``, ``NumberedFiring.java``, which writes the bytes ``jobs.late_data.NumberedFiring``
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
from udfs.windows import late_records_missing


def build(t_env, streams, options: Any) -> dict[str, DataStream]:
    jvm = get_gateway().jvm
    late = OutputTag("late", timed_row_type(ACTIVITY)).get_java_output_tag()
    field = ACTIVITY.names.index
    duration = jvm.java.time.Duration.ofMillis
    count_sum = Types.TUPLE([Types.LONG(), Types.DOUBLE()]).get_java_type_info()
    windows = (
        streams["events"]
        ._j_data_stream.keyBy(functions().windows.RowFieldKey(field("user_id")), Types.STRING().get_java_type_info())
        .window(
            jvm.org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows.of(
                duration(options.window_ms)
            )
        )
        .trigger(functions().windows.NotingEventTimeTrigger())
        .allowedLateness(duration(options.allowed_lateness_ms))
        .sideOutputLateData(late)
        .aggregate(
            functions().windows.CountSum(field("value")),
            functions().windows.NumberedFiring(),
            count_sum,
            count_sum,
            Types.STRING().get_java_type_info(),
        )
        .name("tumbling-windows")
        .uid("tumbling-windows")
    )
    return {
        "windows": DataStream(windows),
        "late": late_records_missing(DataStream(windows.getSideOutput(late)), options.window_ms),
    }


JVM = FastBuild(
    build, help="Flink's own TumblingEventTimeWindows (Java) and a Java port of its trigger", reuses_objects=True
)
