"""Window join (seed section 3): every click x purchase of a user in the same tumbling window.

Flink's window join (a ``TUMBLE`` window on both inputs, joined on the user and the window) emits
a window's pairs when the watermark of both inputs has passed its end, so, as in the seed, a click
at 0 s and a purchase at 2 s match in [0 s, 5 s); a record whose window has already closed goes to
``late``. ``consumed`` counts the records each input contributed per window.

    python -m jobs.window_join --window 5s --clicks clicks.jsonl --purchases purchases.jsonl
"""

from __future__ import annotations

import json

from pyflink.datastream import DataStream
from pyflink.table import StreamTableEnvironment

from udfs import joins
from udfs.events import CLICKS, PURCHASES
from udfs.options import Input, parse_options, positive_duration, run_cli
from udfs.runner import run
from udfs.timeutil import format_time, parse_duration

JOB = "window_join"
INPUTS = [Input("clicks", CLICKS, "clicks.jsonl", "--clicks", "--clicks-topic"),
          Input("purchases", PURCHASES, "purchases.jsonl", "--purchases", "--purchases-topic")]


def match_record(pair) -> str:
    return json.dumps({
        "user_id": pair.key,
        "window_start": format_time(pair.window_start),
        "window_end": format_time(pair.window_end),
        "click": json.loads(pair.left_raw),
        "purchase": json.loads(pair.right_raw),
    }, ensure_ascii=False)


def build(t_env: StreamTableEnvironment, clicks: DataStream, purchases: DataStream, *,
          window_ms: int) -> dict[str, DataStream]:
    joined = joins.window_join(t_env, joins.Side("clicks", clicks, CLICKS), joins.Side("purchases", purchases, PURCHASES),
                               key="user_id", size_ms=window_ms)
    return joins.outputs(joined, "matches", match_record)


accounting = joins.accounting


def options(argv=None):
    def configure(group):
        group.add_argument("--window", type=positive_duration, default=parse_duration("5s"), metavar="DURATION",
                           help="size of the tumbling event-time window (default 5s)")

    return parse_options(JOB, INPUTS, argv, configure, description=__doc__.splitlines()[0])


def pipeline(opts):
    return lambda t_env, streams: build(t_env, streams["clicks"], streams["purchases"], window_ms=opts.window)


def main(argv=None) -> int:
    opts = options(argv)
    return run(opts, pipeline(opts), accounting)


if __name__ == "__main__":
    run_cli(f"jobs.{JOB}")
