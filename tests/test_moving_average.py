"""The moving_average job: the seed's 20-event example, keys, late and partially late events,
randomized out-of-order input against a brute-force reference and against Flink SQL's HOP
window TVF, invalid records, and the count identity."""

import json
import random

import pytest

from jobs import moving_average
from runner.cli import OptionError, parse
from samples.generate import BASE_MS
from tests.harness import canonical, lines, run_job
from tests.reference import sliding, window_firings
from tests.sql_reference import window_totals
from udfs.timeutil import format_time


def at(second, **fields):
    return {"timestamp": format_time(BASE_MS + int(second * 1000)), **fields}


def window(key, start_s, end_s, values, leaving):
    total = float(sum(values))
    return {
        "key": key,
        "window_start": format_time(BASE_MS + start_s * 1000),
        "window_end": format_time(BASE_MS + end_s * 1000),
        "count": len(values),
        "sum": total,
        "avg": round(total / len(values), 9),
        "leaving": leaving,
    }


def assert_accounted(outputs, records_in):
    assert moving_average.JOB.accounted(outputs) == records_in


def test_seed_example_20_events_10s_5s():
    # Seed section 1: 20 events one second apart, value 1..10; one global stream.
    values = [(i * 7) % 10 + 1 for i in range(20)]
    events = [at(i, user_id="u", id=i, value=v) for i, v in enumerate(values)]
    out = run_job(moving_average.JOB, [], events=lines(events))
    # Epoch-aligned windows (BASE_MS is on a 10 s boundary): the first event is also in [-5 s, 5 s).
    assert canonical(out["windows"]) == canonical(
        [
            window(None, -5, 5, values[0:5], 0),
            window(None, 0, 10, values[0:10], 5),
            window(None, 5, 15, values[5:15], 5),
            window(None, 10, 20, values[10:20], 5),
            window(None, 15, 25, values[15:20], 5),
        ]
    )
    assert out["late"] == [] and out["errors"] == []
    assert_accounted(out, 20)


def test_key_field_typed_untyped_and_missing():
    events = [
        at(0, user_id="a", tenant="acme", region="eu", value=1),
        at(1, user_id="b", tenant="acme", value=2),
        at(2, user_id="a", value=4, region="us"),
    ]
    out = run_job(moving_average.JOB, ["--key-field", "tenant"], events=lines(events))
    assert canonical(out["windows"]) == canonical(
        [
            window("acme", -5, 5, [1, 2], 0),
            window("acme", 0, 10, [1, 2], 2),
            window(None, -5, 5, [4], 0),
            window(None, 0, 10, [4], 1),
        ]
    )
    out = run_job(
        moving_average.JOB, ["--key-field", "region", "--size", "10s", "--slide", "10s"], events=lines(events)
    )
    assert sorted((w["key"] or "", w["count"]) for w in out["windows"]) == [("", 1), ("eu", 1), ("us", 1)]


def test_missing_value_counts_as_zero():
    out = run_job(
        moving_average.JOB, ["--slide", "10s"], events=lines([at(1, user_id="a", value=3), at(2, user_id="a")])
    )
    assert out["windows"] == [window(None, 0, 10, [3, 0], 2)]


def test_late_event_goes_to_late_once_and_partially_late_event_counts_where_it_can():
    # Watermark after t=16 s is 11 s (bound 5 s): [0, 10) has fired, [5, 15) has not.
    events = [
        at(1, user_id="a", value=1),
        at(16, user_id="a", value=1),
        at(7, user_id="a", value=10, note="partially late"),  # misses [0, 10), lands in [5, 15)
        at(30, user_id="a", value=1),  # watermark 25 s: [5, 15) and [10, 20) have fired
        at(12, user_id="a", value=100, note="late"),
    ]  # misses [5, 15) and [10, 20): late, once
    out = run_job(moving_average.JOB, [], events=lines(events))
    assert out["late"] == [events[4]]
    assert canonical(out["windows"]) == canonical(
        [
            window(None, -5, 5, [1], 0),
            window(None, 0, 10, [1], 1),
            window(None, 5, 15, [10], 1),
            window(None, 10, 20, [1], 0),
            window(None, 15, 25, [1], 1),
            window(None, 25, 35, [1], 0),
            window(None, 30, 40, [1], 1),
        ]
    )
    assert_accounted(out, 5)


def random_stream(seed, n=400, keys=("a", "b", "c"), bound_ms=2_000, late_fraction=0.06):
    """Events over ~2 min in arrival order: most delayed within the bound, some far beyond it."""
    rng = random.Random(seed)
    timed = []
    for i in range(n):
        ts = BASE_MS + rng.randint(0, 120_000)
        record = {"user_id": rng.choice(keys), "timestamp": ts, "seq": i}
        if rng.random() < 0.9:
            record["value"] = rng.randint(-5, 50)
        timed.append(record)
    arrival = []
    for r in timed:
        late = rng.random() < late_fraction
        delay = rng.uniform(bound_ms + 1_000, 25_000) if late else rng.uniform(0, bound_ms)
        arrival.append((r["timestamp"] + delay, r["seq"], r))
    return [r for *_, r in sorted(arrival)]


def expected_windows(records, size_ms, slide_ms, bound_ms, key_field=None):
    events = [
        {"key": r.get(key_field) if key_field else None, "ts": r["timestamp"], "value": r.get("value", 0), "record": r}
        for r in records
    ]
    firings, late = window_firings(events, sliding(size_ms, slide_ms), bound_ms)
    windows = []
    for f in firings:
        values = [e["value"] for e in f["events"]]
        windows.append(
            {
                "key": f["key"],
                "window_start": format_time(f["start"]),
                "window_end": format_time(f["end"]),
                "count": len(values),
                "sum": float(sum(values)),
                "avg": round(sum(values) / len(values), 9),
                "leaving": sum(1 for e in f["events"] if f["start"] <= e["ts"] < f["start"] + slide_ms),
            }
        )
    return windows, [e["record"] for e in late]


@pytest.mark.parametrize("parallelism", [1, 2])
@pytest.mark.parametrize(
    "seed, size, slide, key_field",
    [(1, 10_000, 5_000, None), (2, 10_000, 2_000, "user_id"), (3, 7_000, 3_000, "user_id")],
)
def test_randomized_out_of_order_input_matches_brute_force(seed, size, slide, key_field, parallelism):
    records = random_stream(seed)
    argv = ["--size", f"{size}ms", "--slide", f"{slide}ms", "--out-of-orderness", "2s"]
    argv += ["--key-field", key_field] if key_field else []
    out = run_job(moving_average.JOB, [*argv, "--parallelism", str(parallelism)], events=lines(records))
    windows, late = expected_windows(records, size, slide, 2_000, key_field)
    assert late, "the input must exercise late data"
    assert canonical(out["windows"]) == canonical(windows)
    assert canonical(out["late"]) == canonical(late)
    assert_accounted(out, len(records))


def test_randomized_input_within_the_bound_matches_flink_sql_hop():
    records = random_stream(4, late_fraction=0)
    argv = ["--size", "10s", "--slide", "5s", "--out-of-orderness", "2s", "--key-field", "user_id"]
    out = run_job(moving_average.JOB, argv, events=lines(records))
    truth = window_totals(moving_average.JOB, argv, lines(records), "HOP", 10_000, 5_000, key="user_id")
    assert out["late"] == []
    assert sorted(
        (w["key"], w["window_start"], w["window_end"], w["count"], w["sum"]) for w in out["windows"]
    ) == sorted(
        (t["key"], format_time(t["window_start"]), format_time(t["window_end"]), t["count"], t["sum"]) for t in truth
    )


def test_invalid_records_go_to_errors_and_are_accounted_for():
    good = at(0, user_id="a", value=2)
    bad = [
        "{oops",
        json.dumps({"user_id": "a", "value": "2", "timestamp": good["timestamp"]}),
        json.dumps({"user_id": "a"}),
    ]
    out = run_job(moving_average.JOB, [], events=lines([good, *bad]))
    assert [e["error"] for e in out["errors"]] == [
        "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        "field 'value' must be a number, got string",
        "missing required field 'timestamp'",
    ]
    assert [w["count"] for w in out["windows"]] == [1, 1]
    assert_accounted(out, 4)


def test_a_slide_longer_than_the_size_is_refused():
    with pytest.raises(OptionError) as error:
        parse(moving_average.JOB, ["--size", "5s", "--slide", "10s"])
    assert error.value.message == "python -m jobs.moving_average: error: --slide must be at most --size"
