"""Window join (seed section 3): every click x purchase of a user in the same tumbling window.

Flink's window join (a ``TUMBLE`` window on both inputs, joined on the user and the window) emits
a window's pairs when the watermark of both inputs has passed its end, so, as in the seed, a click
at 0 s and a purchase at 2 s match in [0 s, 5 s); a record whose window has already closed goes to
``late``. ``consumed`` counts the records each input contributed per window. ``--build jvm``
writes the same records in the JVM (``WindowMatches.java``).

    python -m jobs.window_join --window 5s --clicks clicks.jsonl --purchases purchases.jsonl
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pyflink.datastream import DataStream
from pyflink.table import StreamTableEnvironment

from runner.cli import main
from udfs import joins
from udfs.drawing import WindowPairs
from udfs.job import CLICK_EVENTS, PURCHASE_EVENTS, Job, option, positive_duration
from udfs.jvm import functions
from udfs.timeutil import format_time


@dataclass(frozen=True)
class WindowJoinOptions:
    window_ms: int = option("--window", positive_duration, "5s", "size of the tumbling event-time window (default 5s)")


def match_record(pair) -> str:
    return json.dumps(
        {
            "user_id": pair.key,
            "window_start": format_time(pair.window_start),
            "window_end": format_time(pair.window_end),
            "click": json.loads(pair.left_raw),
            "purchase": json.loads(pair.right_raw),
        },
        ensure_ascii=False,
    )


def join(t_env: StreamTableEnvironment, streams, options: WindowJoinOptions) -> joins.Joined:
    clicks, purchases = joins.sides(streams, CLICK_EVENTS, PURCHASE_EVENTS)
    return joins.window_join(t_env, clicks, purchases, key="user_id", size_ms=options.window_ms)


def build(t_env: StreamTableEnvironment, streams, options: WindowJoinOptions) -> dict[str, DataStream]:
    return joins.outputs(join(t_env, streams, options), "matches", match_record)


JOB = Job(
    name="window_join",
    doc=__doc__,
    inputs=(CLICK_EVENTS, PURCHASE_EVENTS),
    options=WindowJoinOptions,
    build=build,
    accounting=joins.ACCOUNTING,
    timeline={"matches": WindowPairs()},
    fast_builds={"jvm": joins.fast_build(join, "matches", lambda: functions().joins.WindowMatches())},
)

if __name__ == "__main__":
    main(JOB)
