"""``global_triggers --build jvm``: the same per-user ``GlobalWindows`` on Flink's Java window
operator, of which PyFlink's Python one is a port, with Java ports of the job's three triggers
(``GlobalTriggers.java``), its aggregate (``FiringTotals.java``) and its firing record
(``FiringRecord.java``, the bytes ``jobs.global_triggers.Firing`` writes)."""

from __future__ import annotations

from typing import Any

from pyflink.common import Types
from pyflink.datastream import DataStream
from pyflink.java_gateway import get_gateway

from udfs.events import ACTIVITY
from udfs.eventtime import stamped, stamped_type
from udfs.job import FastBuild
from udfs.jvm import functions


def build(t_env, streams, options: Any) -> dict[str, DataStream]:
    kind, arg = options.trigger
    field = ACTIVITY.names.index
    totals = Types.TUPLE([Types.LONG(), Types.DOUBLE(), Types.LONG(), Types.LONG()]).get_java_type_info()
    windows = functions().windows
    firings = (
        streams["events"]
        ._j_data_stream.keyBy(windows.RowFieldKey(field("user_id")), Types.STRING().get_java_type_info())
        .window(get_gateway().jvm.org.apache.flink.streaming.api.windowing.assigners.GlobalWindows.create())
        .trigger(windows.GlobalTriggers.of(kind, str(arg), field("action")))
        .aggregate(
            windows.FiringTotals(field("value"), field("ts")),
            windows.FiringRecord(),
            totals,
            totals,
            stamped_type().get_java_type_info(),
        )
        .name("global-windows")
        .uid("global-windows")
    )
    return {"firings": stamped(DataStream(firings), "firings")}


JVM = FastBuild(
    build, help="Flink's own GlobalWindows (Java) and Java ports of the job's triggers", reuses_objects=True
)
