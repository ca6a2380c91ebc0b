"""Temporal join (seed section 3): each purchase enriched with the user's profile as it was at
the purchase's event time.

The profile stream is a versioned table (key ``user_id``); Flink's event-time temporal join holds
each purchase until the watermark passes it, then joins the latest profile version with
``timestamp <= purchase.timestamp``, or null when the user had none yet (a left join). Records at
or behind their input's watermark go to ``late`` (see docs/joins.md); ``consumed`` counts the
records each input contributed per minute.

    python -m jobs.temporal_join --purchases purchases.jsonl --profiles profiles.jsonl
"""

from __future__ import annotations

import json

from pyflink.datastream import DataStream
from pyflink.table import StreamTableEnvironment

from udfs import joins
from udfs.events import PROFILES, PURCHASES
from udfs.options import Input, parse_options, run_cli
from udfs.runner import run

JOB = "temporal_join"
INPUTS = [Input("purchases", PURCHASES, "purchases.jsonl", "--purchases", "--purchases-topic"),
          Input("profiles", PROFILES, "profiles.jsonl", "--profiles", "--profiles-topic")]
#: Fields of a profile version that identify it rather than describe the user.
NOT_ATTRIBUTES = ("user_id", "timestamp")


def enriched_record(pair) -> str:
    profile = None
    if pair.right_raw is not None:
        profile = {k: v for k, v in json.loads(pair.right_raw).items() if k not in NOT_ATTRIBUTES}
    return json.dumps({**json.loads(pair.left_raw), "profile": profile}, ensure_ascii=False)


def build(t_env: StreamTableEnvironment, purchases: DataStream, profiles: DataStream) -> dict[str, DataStream]:
    joined = joins.temporal_join(t_env, joins.Side("purchases", purchases, PURCHASES),
                                 joins.Side("profiles", profiles, PROFILES), key="user_id")
    return joins.outputs(joined, "enriched", enriched_record)


accounting = joins.accounting


def options(argv=None):
    return parse_options(JOB, INPUTS, argv, description=__doc__.splitlines()[0])


def pipeline(opts):
    return lambda t_env, streams: build(t_env, streams["purchases"], streams["profiles"])


def main(argv=None) -> int:
    opts = options(argv)
    return run(opts, pipeline(opts), accounting)


if __name__ == "__main__":
    run_cli(f"jobs.{JOB}")
