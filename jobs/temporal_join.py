"""Temporal join (seed section 3): each purchase enriched with the user's profile as it was at
the purchase's event time.

The profile stream is a versioned table (key ``user_id``); Flink's event-time temporal join holds
each purchase until the watermark passes it, then joins the latest profile version with
``timestamp <= purchase.timestamp``, or null when the user had none yet (a left join). Records at
or behind their input's watermark go to ``late`` (see docs/joins.md); ``consumed`` counts the
records each input contributed per minute. ``--build jvm`` writes the same records in the JVM
(``EnrichedPurchases.java``, with the same ``NOT_ATTRIBUTES``).

    python -m jobs.temporal_join --purchases purchases.jsonl --profiles profiles.jsonl
"""

from __future__ import annotations

import json

from pyflink.datastream import DataStream
from pyflink.table import StreamTableEnvironment

from runner.cli import main
from udfs import joins
from udfs.drawing import Versions
from udfs.job import PROFILE_VERSIONS, PURCHASE_EVENTS, Job, NoOptions
from udfs.jvm import functions, java_strings

#: Fields of a profile version that identify it rather than describe the user.
NOT_ATTRIBUTES = ("user_id", "timestamp")


def enriched_record(pair) -> str:
    profile = None
    if pair.right_raw is not None:
        profile = {k: v for k, v in json.loads(pair.right_raw).items() if k not in NOT_ATTRIBUTES}
    return json.dumps({**json.loads(pair.left_raw), "profile": profile}, ensure_ascii=False)


def join(t_env: StreamTableEnvironment, streams, options: NoOptions) -> joins.Joined:
    purchases, profiles = joins.sides(streams, PURCHASE_EVENTS, PROFILE_VERSIONS)
    return joins.temporal_join(t_env, purchases, profiles, key="user_id")


def build(t_env: StreamTableEnvironment, streams, options: NoOptions) -> dict[str, DataStream]:
    return joins.outputs(join(t_env, streams, options), "enriched", enriched_record)


def jvm_enriched_records():
    return functions().joins.EnrichedPurchases(java_strings(NOT_ATTRIBUTES))


JOB = Job(
    name="temporal_join",
    doc=__doc__,
    inputs=(PURCHASE_EVENTS, PROFILE_VERSIONS),
    options=NoOptions,
    build=build,
    accounting=joins.ACCOUNTING,
    timeline={"enriched": Versions()},
    fast_builds={"jvm": joins.fast_build(join, "enriched", jvm_enriched_records)},
)

if __name__ == "__main__":
    main(JOB)
