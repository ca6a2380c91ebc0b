"""The late_data job: the seed's watermark example and its allowed-lateness timeline, numbered
firings, the late side output, randomized out-of-order input against a brute-force reference and
against Flink SQL's TUMBLE window TVF, invalid records, and the count identity.

The references run against both window operators (``--build python`` and ``jvm``), and
the two write the same bytes."""

import json
import random

import pytest

from jobs import late_data
from samples.generate import BASE_MS
from tests.harness import assert_same_records, canonical, lines, run_job
from tests.reference import tumbling, window_firings
from tests.sql_reference import window_totals
from udfs.timeutil import format_time


def at(second, **fields):
    return {"timestamp": format_time(BASE_MS + int(second * 1000)), **fields}


def result(user, start_s, size_s, values, firing, late_update):
    return {
        "user_id": user,
        "window_start": format_time(BASE_MS + start_s * 1000),
        "window_end": format_time(BASE_MS + (start_s + size_s) * 1000),
        "count": len(values),
        "sum": float(sum(values)),
        "firing": firing,
        "late_update": late_update,
    }


OPERATORS = ("python", "jvm")


def assert_accounted(outputs, records_in):
    assert late_data.JOB.accounted(outputs) == records_in


@pytest.mark.parametrize("operator", OPERATORS)
def test_seed_watermark_example(operator):
    # Seed section 2: events at 0, 2, 5, 10, 3, 12 s, bound 2 s. The seed calls the event at 3 s
    # late (it is behind the 8 s watermark); in Flink it is late only if its window [0, 10 s)
    # has fired, which happens when the watermark reaches 10 s, so it counts on time.
    events = [
        at(s, user_id="u", id=i + 1, value=v)
        for i, (s, v) in enumerate([(0, 10), (2, 20), (5, 30), (10, 40), (3, 25), (12, 50)])
    ]
    out = run_job(late_data.JOB, ["--out-of-orderness", "2s", "--build", operator], events=lines(events))
    assert canonical(out["windows"]) == canonical(
        [result("u", 0, 10, [10, 20, 30, 25], 1, False), result("u", 10, 10, [40, 50], 1, False)]
    )
    assert out["late"] == []
    assert_accounted(out, 6)


@pytest.mark.parametrize("operator", OPERATORS)
def test_seed_allowed_lateness_timeline(operator):
    # Seed section 2, Strategy 1 + 2: window 10:00-10:10, watermark passes 10:10 at 10:12
    # (bound 2 min), allowed lateness 2 min: each late event within it re-fires the window with the
    # update; after 10:12 (window end + lateness) the window is gone and late events go to `late`.
    m = 60
    events = [
        at(5 * m, user_id="u", value=1),
        at(12 * m, user_id="u", value=10),  # watermark 10:10: [10:00, 10:10) fires (firing 1)
        at(7 * m, user_id="u", value=2),  # late, within lateness: firing 2
        at(13 * m, user_id="u", value=10),  # watermark 10:11
        at(9 * m, user_id="u", value=3),  # still within lateness: firing 3
        at(14 * m, user_id="u", value=10),  # watermark 10:12: lateness expired, window dropped
        at(8 * m, user_id="u", value=4),
    ]  # beyond the allowed lateness: `late`
    out = run_job(
        late_data.JOB,
        [
            "--window",
            "10min",
            "--out-of-orderness",
            "2min",
            "--allowed-lateness",
            "2min",
            "--build",
            operator,
        ],
        events=lines(events),
    )
    assert canonical(out["windows"]) == canonical(
        [
            result("u", 0, 600, [1], 1, False),
            result("u", 0, 600, [1, 2], 2, True),
            result("u", 0, 600, [1, 2, 3], 3, True),
            result("u", 600, 600, [10, 10, 10], 1, False),
        ]
    )
    assert out["late"] == [{**events[6], "window_end": format_time(BASE_MS + 600_000)}]
    assert_accounted(out, 7)


@pytest.mark.parametrize("operator", OPERATORS)
def test_a_window_first_filled_by_a_late_event_fires_as_a_late_update(operator):
    # Bob has nothing in [0, 10 s) until after the watermark passed 10 s.
    events = [at(1, user_id="Alice", value=1), at(15, user_id="Alice", value=1), at(4, user_id="Bob", value=7)]
    argv = ["--out-of-orderness", "2s", "--allowed-lateness", "5s", "--build", operator]
    out = run_job(late_data.JOB, argv, events=lines(events))
    assert canonical(out["windows"]) == canonical(
        [
            result("Alice", 0, 10, [1], 1, False),
            result("Alice", 10, 10, [1], 1, False),
            result("Bob", 0, 10, [7], 1, True),
        ]
    )


def random_stream(seed, n=400, users=4, bound_ms=2_000, late_fraction=0.12):
    rng = random.Random(seed)
    timed = []
    for i in range(n):
        record = {"user_id": f"u{rng.randrange(users)}", "timestamp": BASE_MS + rng.randint(0, 120_000), "seq": i}
        if rng.random() < 0.9:
            record["value"] = rng.randint(-5, 50)
        timed.append(record)
    arrival = []
    for r in timed:
        delay = rng.uniform(bound_ms, 20_000) if rng.random() < late_fraction else rng.uniform(0, bound_ms)
        arrival.append((r["timestamp"] + delay, r["seq"], r))
    return [r for *_, r in sorted(arrival)]


def expected(records, window_ms, bound_ms, lateness_ms):
    events = [{"key": r["user_id"], "ts": r["timestamp"], "value": r.get("value", 0), "record": r} for r in records]
    firings, late = window_firings(events, tumbling(window_ms), bound_ms, lateness_ms)
    windows = [
        {
            "user_id": f["key"],
            "window_start": format_time(f["start"]),
            "window_end": format_time(f["end"]),
            "count": len(f["events"]),
            "sum": float(sum(e["value"] for e in f["events"])),
            "firing": f["firing"],
            "late_update": f["late"],
        }
        for f in firings
    ]
    late = [{**e["record"], "window_end": format_time(e["ts"] - e["ts"] % window_ms + window_ms)} for e in late]
    return windows, late


#: (seed, allowed lateness, parallelism, window operator)
RANDOMIZED = [(seed, lateness, p, "python") for seed, lateness in [(1, 0), (2, 3_000), (3, 8_000)] for p in (1, 2)]


@pytest.mark.parametrize(
    "seed, lateness_ms, parallelism, operator", [*RANDOMIZED, (2, 3_000, 2, "jvm"), (3, 8_000, 1, "jvm")]
)
def test_randomized_out_of_order_input_matches_brute_force(seed, lateness_ms, parallelism, operator):
    records = random_stream(seed)
    out = run_job(
        late_data.JOB,
        [
            "--parallelism",
            str(parallelism),
            "--window",
            "10s",
            "--out-of-orderness",
            "2s",
            "--allowed-lateness",
            f"{lateness_ms}ms",
            "--build",
            operator,
        ],
        events=lines(records),
    )
    windows, late = expected(records, 10_000, 2_000, lateness_ms)
    assert late, "the input must exercise late data"
    if lateness_ms:
        assert any(w["firing"] > 1 for w in windows), "the input must exercise late updates"
    assert canonical(out["windows"]) == canonical(windows)
    assert canonical(out["late"]) == canonical(late)
    assert_accounted(out, len(records))


@pytest.mark.parametrize("operator", OPERATORS)
def test_randomized_input_within_the_bound_matches_flink_sql_tumble(operator):
    records = random_stream(4, late_fraction=0)
    argv = ["--window", "10s", "--out-of-orderness", "2s", "--build", operator]
    out = run_job(late_data.JOB, argv, events=lines(records))
    truth = window_totals(late_data.JOB, argv, lines(records), "TUMBLE", 10_000, key="user_id")
    assert out["late"] == [] and {w["firing"] for w in out["windows"]} == {1}
    assert sorted(
        (w["user_id"], w["window_start"], w["window_end"], w["count"], w["sum"]) for w in out["windows"]
    ) == sorted(
        (t["key"], format_time(t["window_start"]), format_time(t["window_end"]), t["count"], t["sum"]) for t in truth
    )


def test_invalid_records_go_to_errors_and_are_accounted_for():
    good = at(0, user_id="a", value=2)
    bad = [
        json.dumps({"user_id": None, "timestamp": good["timestamp"]}),
        json.dumps({"user_id": "a", "timestamp": True}),
    ]
    out = run_job(late_data.JOB, [], events=lines([good, *bad]))
    assert [e["error"] for e in out["errors"]] == [
        "required field 'user_id' is null",
        "timestamp must be an ISO-8601 string or epoch milliseconds, got boolean True",
    ]
    assert [w["count"] for w in out["windows"]] == [1]
    assert_accounted(out, 3)


def test_process_mode_gives_the_same_result_as_thread_mode():
    records = lines(random_stream(5, n=150))
    argv = ["--out-of-orderness", "2s", "--allowed-lateness", "5s"]
    thread = run_job(late_data.JOB, argv, events=records)
    process = run_job(late_data.JOB, [*argv, "--execution-mode", "process"], events=records)
    assert_same_records(thread, process)
    assert any(w["late_update"] for w in process["windows"])
