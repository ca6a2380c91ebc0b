"""Inactivity timeouts (seed section 4): a KeyedProcessFunction per user with event-time timers.

A user times out when no event of theirs follows the previous one within ``--timeout``: one
``timeouts`` record per gap *longer* than the timeout, and one after the user's last event. The
gaps are those of the user's events in event-time order, whatever their arrival order within the
watermark bound: events ahead of the watermark wait in keyed state until the watermark has passed
them, and only then are folded in time order. Events behind the watermark on arrival can no longer
be ordered and go to ``late``. ``--build jvm`` (jobs/jvm/inactivity_timeouts.py) runs the same
function in the JVM.

    python -m jobs.inactivity_timeouts --timeout 3s --input events.jsonl --sink file --output out/
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pyflink.common import Types
from pyflink.datastream import DataStream, OutputTag
from pyflink.datastream.functions import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import ListState, ListStateDescriptor, ValueState, ValueStateDescriptor
from pyflink.metrics import Counter

from jobs.jvm.inactivity_timeouts import JVM
from runner.cli import main
from udfs.drawing import Timeouts
from udfs.eventtime import stamped, stamped_type
from udfs.job import ACTIVITY_EVENTS, LATE_AND_ERRORS, Count, Job, option, positive_duration
from udfs.metrics import GROUP
from udfs.timeutil import format_time
from udfs.windows import late_record

#: Late events and timeouts leave as ``(json, time)`` pairs that :func:`udfs.eventtime.stamped`
#: timestamps: thread mode gives a side output no timestamp, and a timer's output carries the
#: timer's time, not ``timeout_at``.
LATE = OutputTag("late", stamped_type())


@dataclass(frozen=True)
class Folded:
    """What :func:`fold` decided: the timeouts that are final, as ``(last event, events since the
    previous timeout)``, and the user's activity after them."""

    timeouts: list[tuple[int, int]]
    last: int | None  # the last event folded, or None after a timeout
    count: int  # events folded since the previous timeout
    waiting: list[int]  # pending event times at or after the frontier, in arrival order


def fold(last: int | None, count: int, pending: list[int], frontier: int, timeout_ms: int) -> Folded:
    """Fold a user's pending event times that are before ``frontier`` (every event before it has
    arrived) in time order: a gap longer than ``timeout_ms`` ends an activity with a timeout, and
    so does the frontier passing the last event + ``timeout_ms``."""
    timeouts = []
    ready = sorted(t for t in pending if t < frontier)
    for t in ready:
        if last is not None and t - last > timeout_ms:
            timeouts.append((last, count))
            count = 0
        last, count = t, count + 1
    if last is not None and last + timeout_ms < frontier:
        timeouts.append((last, count))
        last, count = None, 0
    waiting = [t for t in pending if t >= frontier]
    return Folded(timeouts, last, count, waiting)


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

    def __init__(self, timeout_ms: int):
        self.timeout = timeout_ms
        self.pending: ListState  # event times not folded yet, in arrival order
        self.status: ValueState  # (last, count, timer)
        self.live_users: Counter

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
        folded = fold(last, count, pending, frontier, self.timeout)
        for last_seen, events in folded.timeouts:
            yield self._timeout(user, last_seen, events)
        if len(folded.waiting) < len(pending):
            self.pending.update(folded.waiting)
        if folded.last is not None:
            self.status.update((folded.last, folded.count, self._arm(ctx, folded.last + self.timeout + 1)))
        elif folded.waiting:
            self.status.update((None, 0, self._arm(ctx, min(folded.waiting) + self.timeout + 1)))
        else:
            self.status.clear()
            self.pending.clear()
            self.live_users.dec()

    @staticmethod
    def _arm(ctx, at: int) -> int:
        ctx.timer_service().register_event_time_timer(at)
        return at

    def _timeout(self, user: str, last: int, count: int) -> tuple[str, int]:
        """A ``timeouts`` record and its time, ``timeout_at``."""
        return json.dumps(
            {
                "user_id": user,
                "last_seen": format_time(last),
                "timeout_at": format_time(last + self.timeout),
                "inactive_s": self.timeout / 1000,
                "event_count": count,
            },
            ensure_ascii=False,
        ), last + self.timeout


def keyed_timeouts(events: DataStream, function: InactivityTimeouts) -> DataStream:
    """The keyed process stream of ``function`` (:class:`InactivityTimeouts` or a subclass)."""
    return (
        events.key_by(lambda e: e.user_id, Types.STRING())
        .process(function, output_type=stamped_type())
        .name("inactivity-timers")
        .uid("inactivity-timers")
    )


@dataclass(frozen=True)
class TimeoutOptions:
    timeout_ms: int = option(
        "--timeout", positive_duration, "3s", "inactivity after which a user times out (default 3s)"
    )


def build(t_env, streams, options: TimeoutOptions) -> dict[str, DataStream]:
    timeouts = keyed_timeouts(streams["events"], InactivityTimeouts(options.timeout_ms))
    return {"timeouts": stamped(timeouts, "timeouts"), "late": stamped(timeouts.get_side_output(LATE), "late")}


#: Each input record is in one timeout's event_count (the activity that timeout ends), in late
#: or in errors.
ACCOUNTING = (Count("timeouts", "event_count"), *LATE_AND_ERRORS)
JOB = Job(
    name="inactivity_timeouts",
    doc=__doc__,
    inputs=(ACTIVITY_EVENTS,),
    options=TimeoutOptions,
    build=build,
    accounting=ACCOUNTING,
    timeline={"timeouts": Timeouts()},
    fast_builds={"jvm": JVM},
)

if __name__ == "__main__":
    main(JOB)
