"""Watermarks and late data (seed section 2): tumbling windows per user with allowed lateness
(updated results) and a late side output (what comes after that).

A window fires once when the watermark passes its end (``firing: 1``). Until the watermark passes
end + ``--allowed-lateness``, each late event updates the window and re-fires it (``firing: 2, 3,
...``, ``late_update: true``). Events later than that go to ``late`` with the ``window_end`` they
missed. Unlike the seed's simulation, an event is late for a window, not for the watermark: one
behind the watermark whose window has not fired yet still counts on time. See docs/windowing.md.
``--build jvm`` (jobs/jvm/late_data.py) computes the same outputs with the same window operator
and trigger in the JVM.

    python -m jobs.late_data --window 10s --out-of-orderness 2s --allowed-lateness 5s
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pyflink.common import Types
from pyflink.datastream import DataStream
from pyflink.datastream.functions import AggregateFunction, ProcessWindowFunction
from pyflink.datastream.state import ValueStateDescriptor
from pyflink.datastream.window import Trigger, TriggerResult, TumblingEventTimeWindows

from jobs.jvm.late_data import JVM
from runner.cli import main
from udfs.drawing import Windows
from udfs.eventtime import stamped, stamped_type
from udfs.job import ACTIVITY_EVENTS, LATE_AND_ERRORS, Count, Job, option, positive_duration
from udfs.timeutil import format_time
from udfs.windows import (
    FIRING_NOTE,
    allowed_lateness_option,
    firing_note,
    late_records_missing,
    late_tag,
    note_firing,
)

LATE = late_tag()


@dataclass(frozen=True)
class LateDataOptions:
    window_ms: int = option("--window", positive_duration, "10s", "tumbling window size (default 10s)")
    allowed_lateness_ms: int = allowed_lateness_option()


class NotingEventTimeTrigger(Trigger):
    """Flink's ``EventTimeTrigger``, plus a note of why it fires: the watermark passing the
    window's end (on time), or an event arriving after that (a late update)."""

    def on_element(self, element, timestamp, window, ctx):
        if window.max_timestamp() <= ctx.get_current_watermark():
            note_firing(ctx, late=True)
            return TriggerResult.FIRE
        ctx.register_event_time_timer(window.max_timestamp())
        return TriggerResult.CONTINUE

    def on_event_time(self, time, window, ctx):
        if time != window.max_timestamp():
            return TriggerResult.CONTINUE  # the window operator's cleanup timer
        note_firing(ctx, late=False)
        return TriggerResult.FIRE

    def on_processing_time(self, time, window, ctx):
        return TriggerResult.CONTINUE

    def on_merge(self, window, ctx):  # tumbling windows never merge
        pass

    def clear(self, window, ctx):
        ctx.delete_event_time_timer(window.max_timestamp())
        ctx.get_partitioned_state(FIRING_NOTE).clear()


class CountSum(AggregateFunction):
    """Incremental ``(count, sum of value)``; a missing value counts as 0."""

    def create_accumulator(self):
        return 0, 0.0

    def add(self, event, acc):
        return acc[0] + 1, acc[1] + (event.value or 0.0)

    def get_result(self, acc):
        return acc

    def merge(self, a, b):
        return a[0] + b[0], a[1] + b[1]


class NumberedFiring(ProcessWindowFunction):
    """Each firing of a window -> a ``windows`` record numbered 1, 2, ... (per-window state,
    dropped with the window when the allowed lateness has passed)."""

    FIRINGS = ValueStateDescriptor("firings", Types.INT())

    def process(self, user_id, context, results):
        count, total = next(iter(results))
        firings = context.window_state().get_state(self.FIRINGS)
        firing = (firings.value() or 0) + 1
        firings.update(firing)
        window = context.window()
        yield (
            json.dumps(
                {
                    "user_id": user_id,
                    "window_start": format_time(window.start),
                    "window_end": format_time(window.end),
                    "count": count,
                    "sum": round(total, 9),  # hides float addition noise (0.1 + 0.2)
                    "firing": firing,
                    "late_update": firing_note(context).get("late", False),
                },
                ensure_ascii=False,
            ),
            window.max_timestamp(),
        )  # a late update too: see udfs.eventtime.stamped

    def clear(self, context):
        context.window_state().get_state(self.FIRINGS).clear()


def build(t_env, streams, options: LateDataOptions) -> dict[str, DataStream]:
    windows = (
        streams["events"]
        .key_by(lambda e: e.user_id, Types.STRING())
        .window(TumblingEventTimeWindows(options.window_ms, 0))
        .trigger(NotingEventTimeTrigger())
        .allowed_lateness(options.allowed_lateness_ms)
        .side_output_late_data(LATE)
        .aggregate(
            CountSum(), NumberedFiring(), accumulator_type=Types.PICKLED_BYTE_ARRAY(), output_type=stamped_type()
        )
        .name("tumbling-windows")
        .uid("tumbling-windows")
    )
    return {
        "windows": stamped(windows, "windows"),
        "late": late_records_missing(windows.get_side_output(LATE), options.window_ms),
    }


#: A window's last firing counts every event it took (on time or within the allowed lateness);
#: later events are in late.
ACCOUNTING = (Count("windows", "count", per=("user_id", "window_start")), *LATE_AND_ERRORS)
JOB = Job(
    name="late_data",
    doc=__doc__,
    inputs=(ACTIVITY_EVENTS,),
    options=LateDataOptions,
    build=build,
    accounting=ACCOUNTING,
    timeline={"windows": Windows()},
    fast_builds={"jvm": JVM},
)

if __name__ == "__main__":
    main(JOB)
