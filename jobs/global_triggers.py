"""Global windows with custom triggers (seed section 1): per-user results every N events, every T
of event time, or when a given action arrives.

Each user's events go to one ``GlobalWindow``; a custom ``Trigger`` decides when it fires, and
each firing purges what it emitted, so every event is in exactly one ``firings`` record. Time is
event time: ``time:T`` fires when the watermark passes the earliest event time of the pending
events + T (not T of wall-clock time after the first arrival, as a simulation would). Every trigger
also sets an event-time timer at the end of time: the final watermark of a bounded input fires it,
emitting each non-empty partial window once as ``end_of_input``. See docs/windowing.md.
``--build jvm`` (jobs/jvm/global_triggers.py) runs the same triggers on Flink's Java window
operator.

    python -m jobs.global_triggers --trigger condition:purchase --sink file --output out/
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

from pyflink.common import Types
from pyflink.common.constants import MAX_LONG_VALUE
from pyflink.datastream import DataStream
from pyflink.datastream.functions import AggregateFunction, ProcessWindowFunction
from pyflink.datastream.state import ValueStateDescriptor
from pyflink.datastream.window import GlobalWindows, Trigger, TriggerResult

from jobs.jvm.global_triggers import JVM
from runner.cli import main
from udfs.drawing import Firings
from udfs.eventtime import stamped, stamped_type
from udfs.job import ACTIVITY_EVENTS, Count, Job, option
from udfs.timeutil import format_time, parse_duration
from udfs.windows import note_firing, take_firing_note

#: The final watermark of a bounded input (Long.MAX_VALUE) fires timers set here, and nothing else
#: does: the end-of-input firing.
END_OF_INPUT = MAX_LONG_VALUE


class _EndOfInputTrigger(Trigger):
    """What all three triggers share: fire and purge what is left when the input ends.

    Triggers keep no Python state between calls (Flink reuses one instance for every key and
    window): counters and deadlines live in partitioned state. ``FIRE_AND_PURGE`` empties the
    window's contents but not the trigger's state, so each trigger resets its own on firing.
    """

    def fire(self, ctx, trigger: str, fired_at: int | None) -> TriggerResult:
        self.reset(ctx)
        # The purge empties the window, so no end-of-input firing is owed until the next element
        # registers it again: a key that has fired holds no state and no timer, which keeps the
        # state of an endless key space to the keys with events since their last firing.
        ctx.delete_event_time_timer(END_OF_INPUT)
        note_firing(ctx, trigger=trigger, fired_at=fired_at)
        return TriggerResult.FIRE_AND_PURGE

    def reset(self, ctx) -> None:
        pass

    def on_event_time(self, time, window, ctx):
        if time == END_OF_INPUT:
            # A window purged earlier has no contents: Flink then calls no window function.
            return self.fire(ctx, "end_of_input", None)
        return TriggerResult.CONTINUE

    def on_processing_time(self, time, window, ctx):
        # These triggers only set event-time timers, but PyFlink's thread mode delivers every
        # timer of a window whose assigner is not event-time (GlobalWindows) here.
        return self.on_event_time(time, window, ctx)

    def on_merge(self, window, ctx):  # global windows never merge
        pass

    def clear(self, window, ctx):
        self.reset(ctx)
        ctx.delete_event_time_timer(END_OF_INPUT)


class EveryCount(_EndOfInputTrigger):
    """``count:N``: fires with the N-th event (in arrival order) since the last firing."""

    COUNT = ValueStateDescriptor("count", Types.LONG())

    def __init__(self, n: int):
        self.n = n

    def on_element(self, element, timestamp, window, ctx):
        state = ctx.get_partitioned_state(self.COUNT)
        count = (state.value() or 0) + 1
        if count >= self.n:
            return self.fire(ctx, "count", timestamp)
        if count == 1:
            ctx.register_event_time_timer(END_OF_INPUT)  # re-registering is a no-op in Flink
        state.update(count)
        return TriggerResult.CONTINUE

    def reset(self, ctx):
        ctx.get_partitioned_state(self.COUNT).clear()


class OnAction(_EndOfInputTrigger):
    """``condition:ACTION``: fires when an event with that action arrives (the event included)."""

    def __init__(self, action: str):
        self.action = action

    def on_element(self, element, timestamp, window, ctx):
        if element.action == self.action:
            return self.fire(ctx, "condition", timestamp)
        ctx.register_event_time_timer(END_OF_INPUT)
        return TriggerResult.CONTINUE


class EveryEventTime(_EndOfInputTrigger):
    """``time:T``: fires when the watermark passes (earliest event time pending) + T.

    The deadline follows the earliest pending event, so an out-of-order event that is earlier than
    the others moves it forward in time (earlier). A deadline already behind the watermark fires
    at once. When the final watermark of a bounded input fires a deadline, T of event time has not
    passed in the data: that firing is ``end_of_input``, like the rest.
    """

    DEADLINE = ValueStateDescriptor("deadline", Types.LONG())

    def __init__(self, interval_ms: int):
        self.interval = interval_ms

    def on_element(self, element, timestamp, window, ctx):
        state = ctx.get_partitioned_state(self.DEADLINE)
        deadline, candidate = state.value(), timestamp + self.interval
        if deadline is not None and deadline <= candidate:
            return TriggerResult.CONTINUE
        if deadline is None:
            ctx.register_event_time_timer(END_OF_INPUT)
        else:
            ctx.delete_event_time_timer(deadline)
        if candidate <= ctx.get_current_watermark():
            return self.fire(ctx, "time", candidate)
        state.update(candidate)
        ctx.register_event_time_timer(candidate)
        return TriggerResult.CONTINUE

    def on_event_time(self, time, window, ctx):
        if time == END_OF_INPUT:
            return self.fire(ctx, "end_of_input", None)
        if time != ctx.get_partitioned_state(self.DEADLINE).value():
            return TriggerResult.CONTINUE  # a deadline that moved earlier
        if ctx.get_current_watermark() == END_OF_INPUT:
            return self.fire(ctx, "end_of_input", None)
        return self.fire(ctx, "time", time)

    def reset(self, ctx):
        state = ctx.get_partitioned_state(self.DEADLINE)
        deadline = state.value()
        if deadline is not None:
            ctx.delete_event_time_timer(deadline)
        state.clear()


class Totals(AggregateFunction):
    """Incremental ``(event_count, sum of value, first event time, last event time)``."""

    def create_accumulator(self):
        return 0, 0.0, None, None

    def add(self, event, acc):
        count, total, first, last = acc
        ts = event.ts
        return (
            count + 1,
            total + (event.value or 0.0),
            ts if first is None or ts < first else first,
            ts if last is None or ts > last else last,
        )

    def get_result(self, acc):
        return acc

    def merge(self, a, b):
        count, total, first, last = a
        for ts in (b[2], b[3]):  # an empty accumulator has no times
            if ts is not None:
                first = ts if first is None or ts < first else first
                last = ts if last is None or ts > last else last
        return count + b[0], total + b[1], first, last


class Firing(ProcessWindowFunction):
    """One firing -> SPEC's ``firings`` record; the trigger's note says why and when. Its time is
    ``fired_at``: Flink would carry the element or timer that fired it, for ``end_of_input`` the
    end of time, which a Kafka broker rejects by default."""

    def process(self, user_id, context, totals):
        count, total, first, last = next(iter(totals))
        note = take_firing_note(context)
        fired_at = note.get("fired_at")
        fired_at = last if fired_at is None else fired_at
        yield (
            json.dumps(
                {
                    "user_id": user_id,
                    "trigger": note.get("trigger"),
                    "fired_at": format_time(fired_at),
                    "event_count": count,
                    "sum": round(total, 9),  # hides float addition noise (0.1 + 0.2)
                    "first_event": format_time(first),
                    "last_event": format_time(last),
                }
            ),
            fired_at,
        )


def parse_trigger(text: str) -> tuple[str, object]:
    """``count:N``, ``time:DURATION`` or ``condition:ACTION`` -> (kind, parameter)."""
    kind, _, arg = text.partition(":")
    if kind == "count" and arg.isdigit() and int(arg) >= 1:
        return kind, int(arg)
    if kind == "time":
        try:
            interval = parse_duration(arg)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"time trigger: {error}") from None
        if interval > 0:
            return kind, interval
    if kind == "condition" and arg:
        return kind, arg
    raise argparse.ArgumentTypeError(
        f"invalid trigger {text!r}: write count:N (N >= 1), time:DURATION (e.g. time:10s) or condition:ACTION"
    )


def make_trigger(kind: str, arg) -> Trigger:
    return {"count": EveryCount, "time": EveryEventTime, "condition": OnAction}[kind](arg)


@dataclass(frozen=True)
class GlobalTriggerOptions:
    trigger: tuple[str, object] = option(
        "--trigger",
        parse_trigger,
        "count:100",
        "count:N | time:DURATION | condition:ACTION (default count:100)",
        metavar="KIND:ARG",
    )


def build(t_env, streams, options: GlobalTriggerOptions) -> dict[str, DataStream]:
    firings = (
        streams["events"]
        .key_by(lambda e: e.user_id, Types.STRING())
        .window(GlobalWindows.create())
        .trigger(make_trigger(*options.trigger))
        .aggregate(Totals(), Firing(), accumulator_type=Types.PICKLED_BYTE_ARRAY(), output_type=stamped_type())
        .name("global-windows")
        .uid("global-windows")
    )
    return {"firings": stamped(firings, "firings")}


#: Each firing purges what it emitted: every valid event is in one firing's event_count.
ACCOUNTING = (Count("firings", "event_count"), Count("errors"))
JOB = Job(
    name="global_triggers",
    doc=__doc__,
    inputs=(ACTIVITY_EVENTS,),
    options=GlobalTriggerOptions,
    build=build,
    accounting=ACCOUNTING,
    timeline={"firings": Firings()},
    fast_builds={"jvm": JVM},
)

if __name__ == "__main__":
    main(JOB)
