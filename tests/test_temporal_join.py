"""The temporal_join job: the seed's purchases against versioned profiles, a purchase before any
version, several versions between two purchases, versions arriving out of order, late and invalid
records, and randomized out-of-order input against a brute-force reference."""

import json

import pytest

from jobs import temporal_join
from tests.harness import canonical, run_job
from tests.join_inputs import at, consumed_total, lines, random_inputs, record
from tests.reference import temporal_join as reference


def enriched(purchase, version):
    attributes = None if version is None else {k: v for k, v in version.items() if k not in ("user_id", "ts")}
    return {**record(purchase), "profile": attributes}


def test_seed_example():
    purchases = [
        {"user_id": "Alice", "product_id": 1, "amount": 50, "timestamp": "2026-11-24T11:00:02.000+01:00"},
        {"user_id": "Charlie", "product_id": 4, "amount": 30, "timestamp": "2026-11-24T11:00:03.000+01:00"},
        {"user_id": "Alice", "product_id": 3, "amount": 75, "timestamp": "2026-11-24T10:00:07.000Z"},
    ]
    profiles = [
        {"user_id": "Alice", "tier": "silver", "country": "DE", "timestamp": "2026-11-24T09:59:00.000Z"},
        {"user_id": "Bob", "tier": "bronze", "country": "FR", "timestamp": "2026-11-24T10:00:00.000Z"},
        {"user_id": "Alice", "tier": "gold", "country": "DE", "timestamp": "2026-11-24T10:00:05.000Z"},
    ]
    out = run_job(
        temporal_join.JOB, [], purchases=[json.dumps(p) for p in purchases], profiles=[json.dumps(p) for p in profiles]
    )
    # Alice was silver at 2 s and gold (since 5 s) at 7 s; Charlie has no profile: null.
    assert canonical(out["enriched"]) == canonical(
        [
            {**purchases[0], "profile": {"tier": "silver", "country": "DE"}},
            {**purchases[1], "profile": None},
            {**purchases[2], "profile": {"tier": "gold", "country": "DE"}},
        ]
    )
    assert out["late"] == [] and out["errors"] == []
    assert temporal_join.JOB.accounted(out) == 6


def test_versions_before_between_and_at_purchases():
    profiles = [{"user_id": "A", "ts": at(s), "tier": t} for s, t in [(3, "v1"), (4, "v2"), (5.5, "v3"), (8, "v4")]]
    purchases = [{"user_id": "A", "ts": at(s), "amount": float(s)} for s in (1, 2.999, 5, 8, 20)]
    out = run_job(temporal_join.JOB, [], purchases=lines(purchases), profiles=lines(profiles))
    # Before any version: null; several versions between 5 s and 8 s: the latest <= 8 s (v4, at exactly 8 s).
    assert canonical(out["enriched"]) == canonical(
        [
            enriched(purchases[0], None),
            enriched(purchases[1], None),
            enriched(purchases[2], profiles[1]),
            enriched(purchases[3], profiles[3]),
            enriched(purchases[4], profiles[3]),
        ]
    )
    assert consumed_total(out, "profiles") == 4 and temporal_join.JOB.accounted(out) == 9


def test_a_version_arriving_after_a_later_one_is_still_used():
    # A deduplicating "versioned view" would drop v1 (older than v2, which it has already seen).
    profiles = [{"user_id": "A", "ts": at(10), "tier": "v2"}, {"user_id": "A", "ts": at(6), "tier": "v1"}]
    purchases = [{"user_id": "A", "ts": at(7), "amount": 1.0}, {"user_id": "A", "ts": at(12), "amount": 2.0}]
    out = run_job(temporal_join.JOB, [], purchases=lines(purchases), profiles=lines(profiles))
    assert canonical(out["enriched"]) == canonical(
        [enriched(purchases[0], profiles[1]), enriched(purchases[1], profiles[0])]
    )


def test_late_purchases_and_versions():
    # Bound 2 s. The version at 1 s arrives when the profiles' watermark is 8 s: late, not applied.
    # The purchase at 3 s arrives when the purchases' watermark is 10 s: late, not enriched.
    profiles = [
        {"user_id": "A", "ts": at(0), "tier": "v0"},
        {"user_id": "A", "ts": at(10), "tier": "v2"},
        {"user_id": "A", "ts": at(1), "tier": "late"},
    ]
    purchases = [
        {"user_id": "A", "ts": at(2), "amount": 1.0},
        {"user_id": "A", "ts": at(12), "amount": 2.0},
        {"user_id": "A", "ts": at(3), "amount": 3.0},
    ]
    out = run_job(temporal_join.JOB, ["--out-of-orderness", "2s"], purchases=lines(purchases), profiles=lines(profiles))
    assert canonical(out["enriched"]) == canonical(
        [enriched(purchases[0], profiles[0]), enriched(purchases[1], profiles[1])]
    )
    assert canonical(out["late"]) == canonical(
        [{**record(profiles[2]), "input": "profiles"}, {**record(purchases[2]), "input": "purchases"}]
    )
    assert temporal_join.JOB.accounted(out) == 6


def test_invalid_records_of_either_input_go_to_errors_named():
    bad_profile = json.dumps({"user_id": "A", "tier": "gold", "timestamp": "soon"})
    out = run_job(
        temporal_join.JOB,
        [],
        purchases=["", *lines([{"user_id": "A", "ts": at(1), "amount": 1.0}])],
        profiles=[bad_profile],
    )
    assert canonical(out["errors"]) == canonical(
        [
            {"job": "temporal_join", "error": "purchases: empty record", "raw": ""},
            {"job": "temporal_join", "error": "profiles: timestamp 'soon' is not an ISO-8601 time", "raw": bad_profile},
        ]
    )
    assert [e["profile"] for e in out["enriched"]] == [None]
    assert temporal_join.JOB.accounted(out) == 3


# Both builds (``--build python`` and ``jvm``), each at parallelism 1 and 2.
@pytest.mark.parametrize(
    "seed, parallelism, build",
    [(1, 1, "python"), (1, 2, "python"), (2, 1, "python"), (2, 2, "python"), (1, 2, "jvm"), (2, 1, "jvm")],
)
def test_randomized_out_of_order_input_matches_brute_force(seed, parallelism, build):
    _, purchases, profiles = random_inputs(seed, late_fraction=0.08)
    out = run_job(
        temporal_join.JOB,
        ["--parallelism", str(parallelism), "--build", build, "--out-of-orderness", "2s"],
        purchases=lines(purchases),
        profiles=lines(profiles),
    )

    pairs, late_purchases, late_profiles = reference(purchases, profiles, bound_ms=2_000)
    assert late_purchases and late_profiles, "the input must exercise late data"
    assert sum(v is None for _, v in pairs) and sum(v is not None and v["version"] > 0 for _, v in pairs) > 10
    assert canonical(out["enriched"]) == canonical([enriched(p, v) for p, v in pairs])
    assert canonical(out["late"]) == canonical(
        [{**record(e), "input": "purchases"} for e in late_purchases]
        + [{**record(e), "input": "profiles"} for e in late_profiles]
    )
    assert consumed_total(out, "profiles") == len(profiles) - len(late_profiles)
    assert temporal_join.JOB.accounted(out) == len(purchases) + len(profiles)
