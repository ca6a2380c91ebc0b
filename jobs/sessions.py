"""Session windows (seed section 1): a user's activity bursts separated by an inactivity gap.

Flink's ``EventTimeSessionWindows`` merge a user's events whose gaps are at most ``--gap``; a
session closes when the watermark passes its last event + gap (``window_end``), so, unlike the
seed's simulation, which closes a session on the next event's arrival, the result does not depend
on arrival order within the watermark bound. Events behind a closed session go to ``late``.

    python -m jobs.sessions --gap 3s --input events.jsonl --sink file --output out/
"""

from __future__ import annotations

import json

from pyflink.common import Types
from pyflink.datastream import DataStream
from pyflink.datastream.window import EventTimeSessionWindows

from udfs.events import ACTIVITY
from udfs.eventtime import stamped, stamped_type
from udfs.merging_windows import MergingWindowFunction
from udfs.options import Input, duration, parse_options, positive_duration, run_cli
from udfs.runner import run
from udfs.timeutil import format_time, parse_duration
from udfs.windows import late_records, late_tag

JOB = "sessions"
INPUTS = [Input("events", ACTIVITY, "activity.jsonl")]
LATE = late_tag()


class SessionSummary(MergingWindowFunction):
    """All events of one closed session -> SPEC's ``sessions`` record.

    The window buffers the session's events (list state) rather than aggregating incrementally:
    ``actions`` needs every event anyway, and PyFlink 2.2's merge of aggregating state loses
    events when one event bridges two sessions (found by the brute-force test; see README).
    """

    def process(self, user_id, context, events):
        # sorted() is stable: events with equal times keep their arrival order.
        ordered = sorted(((e.ts, e.action) for e in events), key=lambda pair: pair[0])
        first, last = ordered[0][0], ordered[-1][0]
        window = context.window()
        yield json.dumps({
            "user_id": user_id,
            "session_start": format_time(first),
            "session_end": format_time(last),
            "window_end": format_time(window.end),
            "duration_s": (last - first) / 1000,
            "event_count": len(ordered),
            "actions": [action for _, action in ordered],
        }), window.max_timestamp()  # a late re-firing too: see udfs.eventtime.stamped


def build(events: DataStream, *, gap_ms: int, allowed_lateness_ms: int = 0) -> dict[str, DataStream]:
    sessions = (
        events.key_by(lambda e: e.user_id, Types.STRING())
        .window(EventTimeSessionWindows(gap_ms))
        .allowed_lateness(allowed_lateness_ms)
        .side_output_late_data(LATE)
        .process(SessionSummary(), output_type=stamped_type())
        .name("session-windows").uid("session-windows")
    )
    return {"sessions": stamped(sessions, "sessions"), "late": late_records(sessions.get_side_output(LATE))}


def accounting(outputs) -> int:
    """Each input record is in one session's ``event_count``, in ``late`` or in ``errors``."""
    return sum(s["event_count"] for s in outputs["sessions"]) + len(outputs["late"]) + len(outputs["errors"])


def options(argv=None):
    def configure(group):
        group.add_argument("--gap", type=positive_duration, default=parse_duration("5min"), metavar="DURATION",
                           help="inactivity gap that ends a session (default 5min)")
        group.add_argument("--allowed-lateness", type=duration, default=0, metavar="DURATION")

    return parse_options(JOB, INPUTS, argv, configure, description=__doc__.splitlines()[0])


def pipeline(opts):
    return lambda t_env, streams: build(streams["events"], gap_ms=opts.gap, allowed_lateness_ms=opts.allowed_lateness)


def main(argv=None) -> int:
    opts = options(argv)
    return run(opts, pipeline(opts), accounting)


if __name__ == "__main__":
    run_cli(f"jobs.{JOB}")
