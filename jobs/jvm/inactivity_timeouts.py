"""``inactivity_timeouts --build jvm``: the same per-user state, single timer and fold in a Java
``KeyedProcessFunction`` (``InactivityTimeouts.java``), which writes the ``timeouts`` records in the
bytes ``jobs.inactivity_timeouts.InactivityTimeouts`` writes and echoes late events as Python's
``json.dumps(json.loads(raw))`` does (``JsonRoundTrip.java``)."""

from __future__ import annotations

from typing import Any

from pyflink.common import Types
from pyflink.datastream import DataStream

from udfs.events import ACTIVITY
from udfs.eventtime import stamped, stamped_type, timed_row_type
from udfs.job import FastBuild
from udfs.jvm import functions, java_strings


def build(t_env, streams, options: Any) -> dict[str, DataStream]:
    fields = java_strings(timed_row_type(ACTIVITY).get_field_names())
    timers = functions().timers.InactivityTimeouts(options.timeout_ms, fields)
    timeouts = (
        streams["events"]
        ._j_data_stream.keyBy(
            functions().windows.RowFieldKey(ACTIVITY.names.index("user_id")), Types.STRING().get_java_type_info()
        )
        .process(timers, stamped_type().get_java_type_info())
        .name("inactivity-timers")
        .uid("inactivity-timers")
    )
    late = timeouts.getSideOutput(functions().timers.InactivityTimeouts.LATE)
    return {"timeouts": stamped(DataStream(timeouts), "timeouts"), "late": DataStream(late)}


JVM = FastBuild(build, help="a Java KeyedProcessFunction with the same state, timer and fold", reuses_objects=True)
