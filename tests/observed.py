"""Jobs' functions observed from outside, for tests: subclasses that report what the job's own
function does, so the production operators carry no test-only output.

They live in a module of the ``tests`` package (not in a test file, which pytest imports under
another name): Flink's Python workers import them by this name.
"""

from __future__ import annotations

import json

from pyflink.common import Types
from pyflink.datastream import OutputTag

from jobs import inactivity_timeouts
from udfs.eventtime import stamped

#: One ``state`` record each time a user's state appears or is cleared (observed from outside).
STATE = OutputTag("state", Types.STRING())


class TracedTimeouts(inactivity_timeouts.InactivityTimeouts):
    """The job's function, observed: whether a user holds state before and after each call."""

    def process_element(self, event, ctx):
        held = self.status.value() is not None
        yield from super().process_element(event, ctx)
        if not held and self.status.value() is not None:
            yield STATE, json.dumps({"user_id": ctx.get_current_key(), "live": True})

    def on_timer(self, timestamp, ctx):
        held = self.status.value() is not None
        yield from super().on_timer(timestamp, ctx)
        if held and self.status.value() is None:
            yield STATE, json.dumps({"user_id": ctx.get_current_key(), "live": False})


def traced_timeouts_build(t_env, streams, options):
    timeouts = inactivity_timeouts.keyed_timeouts(streams["events"], TracedTimeouts(options.timeout_ms))
    return {
        "timeouts": stamped(timeouts, "timeouts"),
        "late": stamped(timeouts.get_side_output(inactivity_timeouts.LATE), "late"),
        "state": timeouts.get_side_output(STATE),
    }
