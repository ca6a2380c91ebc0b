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
from udfs.job import Input, Job, NoOptions

#: Fields of a profile version that identify it rather than describe the user.
NOT_ATTRIBUTES = ("user_id", "timestamp")


def enriched_record(pair) -> str:
    profile = None
    if pair.right_raw is not None:
        profile = {k: v for k, v in json.loads(pair.right_raw).items() if k not in NOT_ATTRIBUTES}
    return json.dumps({**json.loads(pair.left_raw), "profile": profile}, ensure_ascii=False)


def build(t_env: StreamTableEnvironment, streams, options: NoOptions) -> dict[str, DataStream]:
    joined = joins.temporal_join(
        t_env,
        joins.Side("purchases", streams["purchases"], PURCHASES),
        joins.Side("profiles", streams["profiles"], PROFILES),
        key="user_id",
    )
    return joins.outputs(joined, "enriched", enriched_record)


JOB = Job(
    "temporal_join",
    __doc__,
    inputs=(
        Input("purchases", PURCHASES, "purchases.jsonl", "--purchases", "--purchases-topic"),
        Input("profiles", PROFILES, "profiles.jsonl", "--profiles", "--profiles-topic"),
    ),
    build=build,
    accounting=joins.ACCOUNTING,
)

if __name__ == "__main__":
    from runner.cli import main

    main(JOB)
