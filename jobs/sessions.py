"""Session windows (seed section 1): a user's activity bursts separated by an inactivity gap.

Flink's ``EventTimeSessionWindows`` merge a user's events whose gaps are at most ``--gap``; a
session closes when the watermark passes its last event + gap (``window_end``), so, unlike the
seed's simulation, which closes a session on the next event's arrival, the result does not depend
on arrival order within the watermark bound. Events behind a closed session go to ``late``.
``--build jvm`` (jobs/jvm/sessions.py) computes the same outputs with the same window operator in
the JVM.

    python -m jobs.sessions --gap 3s --input events.jsonl --sink file --output out/
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pyflink.common import Types
from pyflink.datastream import DataStream
from pyflink.datastream.window import EventTimeSessionWindows

from jobs.jvm.sessions import JVM
from runner.cli import main
from udfs.drawing import Sessions
from udfs.eventtime import stamped, stamped_type
from udfs.job import ACTIVITY_EVENTS, LATE_AND_ERRORS, Count, Job, option, positive_duration
from udfs.merging_windows import MergingWindowFunction
from udfs.timeutil import format_time
from udfs.windows import allowed_lateness_option, late_records, late_tag

LATE = late_tag()


@dataclass(frozen=True)
class SessionOptions:
    gap_ms: int = option("--gap", positive_duration, "5min", "inactivity gap that ends a session (default 5min)")
    allowed_lateness_ms: int = allowed_lateness_option("session")


class SessionSummary(MergingWindowFunction):
    """All events of one closed session -> SPEC's ``sessions`` record.

    The window buffers the session's events (list state) rather than aggregating incrementally:
    ``actions`` needs every event anyway, and PyFlink 2.2's merge of aggregating state loses
    events when one event bridges two sessions (found by the brute-force test; see README).
    """

    def process(self, user_id, context, events):
        ordered = sorted(((e.ts, e.action) for e in events), key=action_order)
        first, last = ordered[0][0], ordered[-1][0]
        window = context.window()
        yield (
            json.dumps(
                {
                    "user_id": user_id,
                    "session_start": format_time(first),
                    "session_end": format_time(last),
                    "window_end": format_time(window.end),
                    "duration_s": (last - first) / 1000,
                    "event_count": len(ordered),
                    "actions": [action for _, action in ordered],
                }
            ),
            window.max_timestamp(),
        )  # a late re-firing too: see udfs.eventtime.stamped


def action_order(event: tuple[int, str | None]):
    """Event time, then the action (a missing one first): equal times would otherwise keep the
    order in which the session's windows were merged, which no window operator defines."""
    ts, action = event
    return ts, action is not None, action or ""


def build(t_env, streams, options: SessionOptions) -> dict[str, DataStream]:
    sessions = (
        streams["events"]
        .key_by(lambda e: e.user_id, Types.STRING())
        .window(EventTimeSessionWindows(options.gap_ms))
        .allowed_lateness(options.allowed_lateness_ms)
        .side_output_late_data(LATE)
        .process(SessionSummary(), output_type=stamped_type())
        .name("session-windows")
        .uid("session-windows")
    )
    return {"sessions": stamped(sessions, "sessions"), "late": late_records(sessions.get_side_output(LATE))}


#: Each input record is in one session's event_count, in late or in errors. A session re-fired by
#: allowed lateness repeats its events, updated: of overlapping firings, the largest counts.
ACCOUNTING = (
    Count("sessions", "event_count", per=("user_id",), span=("session_start", "session_end")),
    *LATE_AND_ERRORS,
)
JOB = Job(
    name="sessions",
    doc=__doc__,
    inputs=(ACTIVITY_EVENTS,),
    options=SessionOptions,
    build=build,
    accounting=ACCOUNTING,
    timeline={"sessions": Sessions()},
    fast_builds={"jvm": JVM},
)

if __name__ == "__main__":
    main(JOB)
