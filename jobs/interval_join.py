"""Interval join (seed section 3): each purchase within ``[click + lower, click + upper]`` of a
click of the same user (a conversion), with the delay between them.

Flink's interval join keeps each row only as long as a partner can still arrive (until the
watermark passes its time + the interval), and emits a pair as soon as both rows are there, so
results do not wait for a window to close. A record at or behind its input's watermark goes to
``late`` (see docs/joins.md); ``consumed`` counts the records each input contributed per minute.
``--build jvm`` writes the same records in the JVM (``Conversions.java``).

    python -m jobs.interval_join --lower -30s --upper 1h --clicks clicks.jsonl --purchases purchases.jsonl
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pyflink.datastream import DataStream
from pyflink.table import StreamTableEnvironment

from runner.cli import main
from udfs import joins
from udfs.drawing import IntervalPairs
from udfs.job import CLICK_EVENTS, PURCHASE_EVENTS, Job, option, signed_duration
from udfs.jvm import functions
from udfs.timeutil import format_time, seconds_between


@dataclass(frozen=True)
class IntervalJoinOptions:
    lower_ms: int = option(
        "--lower", signed_duration, "0s", "purchase_time >= click_time + LOWER; may be negative, e.g. -30s (default 0s)"
    )
    upper_ms: int = option("--upper", signed_duration, "1h", "purchase_time <= click_time + UPPER (default 1h)")

    def __post_init__(self):
        if self.lower_ms > self.upper_ms:
            raise ValueError("--lower must not be after --upper")


def conversion_record(pair) -> str:
    click, purchase = json.loads(pair.left_raw), json.loads(pair.right_raw)
    return json.dumps(
        {
            "user_id": pair.key,
            "click_time": format_time(pair.left_ts),
            "purchase_time": format_time(pair.right_ts),
            "delay_s": seconds_between(pair.left_ts, pair.right_ts),
            "page": click.get("page"),
            "product_id": purchase.get("product_id"),
            "amount": purchase["amount"],
        },
        ensure_ascii=False,
    )


def join(t_env: StreamTableEnvironment, streams, options: IntervalJoinOptions) -> joins.Joined:
    clicks, purchases = joins.sides(streams, CLICK_EVENTS, PURCHASE_EVENTS)
    return joins.interval_join(
        t_env, clicks, purchases, key="user_id", lower_ms=options.lower_ms, upper_ms=options.upper_ms
    )


def build(t_env: StreamTableEnvironment, streams, options: IntervalJoinOptions) -> dict[str, DataStream]:
    return joins.outputs(join(t_env, streams, options), "conversions", conversion_record)


JOB = Job(
    name="interval_join",
    doc=__doc__,
    inputs=(CLICK_EVENTS, PURCHASE_EVENTS),
    options=IntervalJoinOptions,
    build=build,
    accounting=joins.ACCOUNTING,
    timeline={"conversions": IntervalPairs()},
    fast_builds={"jvm": joins.fast_build(join, "conversions", lambda: functions().joins.Conversions())},
)

if __name__ == "__main__":
    main(JOB)
