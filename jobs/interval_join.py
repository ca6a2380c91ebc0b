"""Interval join (seed section 3): each purchase within ``[click + lower, click + upper]`` of a
click of the same user (a conversion), with the delay between them.

Flink's interval join keeps each row only as long as a partner can still arrive (until the
watermark passes its time + the interval), and emits a pair as soon as both rows are there, so
results do not wait for a window to close. A record at or behind its input's watermark goes to
``late`` (see docs/joins.md); ``consumed`` counts the records each input contributed per minute.

    python -m jobs.interval_join --lower -30s --upper 1h --clicks clicks.jsonl --purchases purchases.jsonl
"""

from __future__ import annotations

import json

from pyflink.datastream import DataStream
from pyflink.table import StreamTableEnvironment

from udfs import joins
from udfs.events import CLICKS, PURCHASES
from udfs.options import Input, option_error, parse_options, run_cli, signed_duration
from udfs.runner import run
from udfs.timeutil import format_time, parse_duration, seconds_between

JOB = "interval_join"
INPUTS = [Input("clicks", CLICKS, "clicks.jsonl", "--clicks", "--clicks-topic"),
          Input("purchases", PURCHASES, "purchases.jsonl", "--purchases", "--purchases-topic")]


def conversion_record(pair) -> str:
    click, purchase = json.loads(pair.left_raw), json.loads(pair.right_raw)
    return json.dumps({
        "user_id": pair.key,
        "click_time": format_time(pair.left_ts),
        "purchase_time": format_time(pair.right_ts),
        "delay_s": seconds_between(pair.left_ts, pair.right_ts),
        "page": click.get("page"),
        "product_id": purchase.get("product_id"),
        "amount": purchase["amount"],
    }, ensure_ascii=False)


def build(t_env: StreamTableEnvironment, clicks: DataStream, purchases: DataStream, *,
          lower_ms: int, upper_ms: int) -> dict[str, DataStream]:
    joined = joins.interval_join(t_env, joins.Side("clicks", clicks, CLICKS), joins.Side("purchases", purchases, PURCHASES),
                                 key="user_id", lower_ms=lower_ms, upper_ms=upper_ms)
    return joins.outputs(joined, "conversions", conversion_record)


accounting = joins.accounting


def options(argv=None):
    def configure(group):
        group.add_argument("--lower", type=signed_duration, default=0, metavar="DURATION",
                           help="purchase_time >= click_time + LOWER; may be negative, e.g. -30s (default 0s)")
        group.add_argument("--upper", type=signed_duration, default=parse_duration("1h"), metavar="DURATION",
                           help="purchase_time <= click_time + UPPER (default 1h)")

    opts = parse_options(JOB, INPUTS, argv, configure, description=__doc__.splitlines()[0])
    if opts.lower > opts.upper:
        raise option_error(JOB, "--lower must not be after --upper")
    return opts


def pipeline(opts):
    return lambda t_env, streams: build(t_env, streams["clicks"], streams["purchases"],
                                        lower_ms=opts.lower, upper_ms=opts.upper)


def main(argv=None) -> int:
    opts = options(argv)
    return run(opts, pipeline(opts), accounting)


if __name__ == "__main__":
    run_cli(f"jobs.{JOB}")
