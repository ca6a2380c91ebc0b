"""Inactivity timeouts (seed section 4): a KeyedProcessFunction per user with event-time timers.

A user times out when no event of theirs follows the previous one within ``--timeout``: one
``timeouts`` record per gap *longer* than the timeout, and one after the user's last event. The
gaps are those of the user's events in event-time order, whatever their arrival order within the
watermark bound: events ahead of the watermark wait in keyed state until the watermark has passed
them, and only then are folded in time order. Events behind the watermark on arrival can no longer
be ordered and go to ``late``.

    python -m jobs.inactivity_timeouts --timeout 3s --input events.jsonl --sink file --output out/
"""

from __future__ import annotations

import json

from pyflink.common import Types
from pyflink.datastream import DataStream, OutputTag
from pyflink.datastream.functions import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import ListStateDescriptor, ValueStateDescriptor

from udfs.events import ACTIVITY
from udfs.eventtime import stamped, stamped_type
from udfs.metrics import GROUP
from udfs.options import Input, parse_options, positive_duration, run_cli
from udfs.runner import run
from udfs.timeutil import format_time, parse_duration
from udfs.windows import late_record

JOB = "inactivity_timeouts"
INPUTS = [Input("events", ACTIVITY, "activity.jsonl")]
#: Late events and timeouts leave as ``(json, time)`` pairs that :func:`udfs.eventtime.stamped`
#: timestamps: thread mode gives a side output no timestamp, and a timer's output carries the
#: timer's time, not ``timeout_at``.
LATE = OutputTag("late", stamped_type())
#: Test-only side output: one record each time a user's state appears or is cleared.
STATE = OutputTag("state", Types.STRING())


class InactivityTimeouts(KeyedProcessFunction):
    """Per user: ``pending`` (the times of events not yet folded, in arrival order) and ``status``
    (``last``: the last event folded in time order, or None; ``count``: events folded since the
    previous timeout; ``timer``: the one timer armed).

    Folding waits for the watermark: when a timer fires at ``T`` (the watermark has reached ``T``),
    every event before ``T`` has arrived (a later one would be behind the watermark, hence late), so
    the pending events before ``T`` can be folded in order and any gap among them, or after the
    last one up to ``T``, is final. The single timer is armed where the next decision becomes
    possible: ``last + timeout + 1 ms`` (from then on, a next event would be more than ``timeout``
    later), or, with nothing folded yet, ``first pending + timeout + 1 ms``. When a timeout leaves
    nothing pending, the user's state is cleared. An event costs two state accesses (read the
    status, append its time); the sorting happens once per timer, on the few pending times.
    """

    def __init__(self, timeout_ms: int, trace: bool = False):
        self.timeout = timeout_ms
        self.trace = trace
        self.pending = self.status = self.live_users = None

    def open(self, runtime_context: RuntimeContext):
        self.pending = runtime_context.get_list_state(ListStateDescriptor("pending", Types.LONG()))
        self.status = runtime_context.get_state(ValueStateDescriptor("status", Types.PICKLED_BYTE_ARRAY()))
        # Users holding state right now: back to 0 once a bounded input has been processed.
        self.live_users = runtime_context.get_metrics_group().add_group(GROUP).counter("live_users")

    def process_element(self, event, ctx: KeyedProcessFunction.Context):
        if event.behind_watermark:
            yield LATE, (late_record(event), event.ts)
            return
        ts = event.ts
        self.pending.add(ts)
        status = self.status.value()
        if status is None:
            self.live_users.inc()
            if self.trace:
                yield STATE, self._trace(ctx.get_current_key(), True)
            self.status.update((None, 0, self._arm(ctx, ts + self.timeout + 1)))
        elif status[0] is None and ts + self.timeout + 1 < status[2]:
            # Nothing folded yet: the earliest pending event decides when to look again.
            ctx.timer_service().delete_event_time_timer(status[2])
            self.status.update((None, 0, self._arm(ctx, ts + self.timeout + 1)))

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext):
        user = ctx.get_current_key()
        watermark = ctx.timer_service().current_watermark()
        # Every event before the frontier has arrived (at the end of input: every event).
        frontier = max(timestamp, watermark) if watermark is not None else timestamp
        status = self.status.value()
        if status is None:  # cannot happen: a timer is armed only with status (a stray one is harmless)
            return
        last, count, _ = status
        pending = list(self.pending.get())
        ready = sorted(t for t in pending if t < frontier)
        for t in ready:
            if last is not None and t - last > self.timeout:
                yield self._timeout(user, last, count)
                count = 0
            last, count = t, count + 1
        if last is not None and last + self.timeout < frontier:
            yield self._timeout(user, last, count)
            last, count = None, 0
        waiting = [t for t in pending if t >= frontier] if ready else pending
        if ready:
            self.pending.update(waiting)
        if last is not None:
            self.status.update((last, count, self._arm(ctx, last + self.timeout + 1)))
        elif waiting:
            self.status.update((None, 0, self._arm(ctx, min(waiting) + self.timeout + 1)))
        else:
            self.status.clear()
            self.pending.clear()
            self.live_users.dec()
            if self.trace:
                yield STATE, self._trace(user, False)

    @staticmethod
    def _arm(ctx, at: int) -> int:
        ctx.timer_service().register_event_time_timer(at)
        return at

    def _timeout(self, user: str, last: int, count: int) -> tuple[str, int]:
        """A ``timeouts`` record and its time, ``timeout_at``."""
        return json.dumps({
            "user_id": user,
            "last_seen": format_time(last),
            "timeout_at": format_time(last + self.timeout),
            "inactive_s": self.timeout / 1000,
            "event_count": count,
        }, ensure_ascii=False), last + self.timeout

    @staticmethod
    def _trace(user: str, live: bool) -> str:
        return json.dumps({"user_id": user, "live": live}, ensure_ascii=False)


def build(events: DataStream, *, timeout_ms: int, trace_state: bool = False) -> dict[str, DataStream]:
    timeouts = (
        events.key_by(lambda e: e.user_id, Types.STRING())
        .process(InactivityTimeouts(timeout_ms, trace_state), output_type=stamped_type())
        .name("inactivity-timers").uid("inactivity-timers")
    )
    outputs = {"timeouts": stamped(timeouts, "timeouts"), "late": stamped(timeouts.get_side_output(LATE), "late")}
    if trace_state:
        outputs["state"] = timeouts.get_side_output(STATE)
    return outputs


def accounting(outputs) -> int:
    """Each input record is in one timeout's ``event_count`` (the activity that timeout ends), in
    ``late`` or in ``errors``."""
    return sum(t["event_count"] for t in outputs["timeouts"]) + len(outputs["late"]) + len(outputs["errors"])


def options(argv=None):
    def configure(group):
        group.add_argument("--timeout", type=positive_duration, default=parse_duration("3s"), metavar="DURATION",
                           help="inactivity after which a user times out (default 3s)")

    return parse_options(JOB, INPUTS, argv, configure, description=__doc__.splitlines()[0])


def pipeline(opts, trace_state: bool = False):
    return lambda t_env, streams: build(streams["events"], timeout_ms=opts.timeout, trace_state=trace_state)


def main(argv=None) -> int:
    opts = options(argv)
    return run(opts, pipeline(opts), accounting)


if __name__ == "__main__":
    run_cli(f"jobs.{JOB}")
