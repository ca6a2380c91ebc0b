"""The sessions job: seed example, randomized out-of-order input against a brute-force
sessionizer, invalid and late records, and the count identity.

The references run against both window operators (``--build python`` and ``jvm``), and
the two write the same bytes."""

import json
import random

import pytest

from jobs import sessions
from samples.generate import BASE_MS
from tests.harness import assert_same_records, canonical, lines, run_job
from tests.reference import sessionize
from udfs.timeutil import format_time


def event(user, second, action, **extra):
    return {"user_id": user, "action": action, "timestamp": format_time(BASE_MS + int(second * 1000)), **extra}


OPERATORS = ("python", "jvm")


def assert_accounted(outputs, records_in):
    assert sessions.JOB.accounted(outputs) == records_in


@pytest.mark.parametrize("operator", OPERATORS)
def test_seed_example_gap_3s(operator):
    # Seed section 1, in event-time order: Alice at 0,1,2,7,8 s; Bob at 0,1,5 s.
    timeline = sorted(
        [event("Alice", s, a) for s, a in [(0, "login"), (1, "view"), (2, "click"), (7, "search"), (8, "logout")]]
        + [event("Bob", s, a) for s, a in [(0, "login"), (1, "view"), (5, "login")]],
        key=lambda e: e["timestamp"],
    )
    out = run_job(sessions.JOB, ["--gap", "3s", "--build", operator], events=lines(timeline))

    def session(user, start, end, actions):
        return {
            "user_id": user,
            "session_start": format_time(BASE_MS + start * 1000),
            "session_end": format_time(BASE_MS + end * 1000),
            "window_end": format_time(BASE_MS + (end + 3) * 1000),
            "duration_s": float(end - start),
            "event_count": len(actions),
            "actions": actions,
        }

    assert canonical(out["sessions"]) == canonical(
        [
            session("Alice", 0, 2, ["login", "view", "click"]),
            session("Alice", 7, 8, ["search", "logout"]),
            session("Bob", 0, 1, ["login", "view"]),
            session("Bob", 5, 5, ["login"]),
        ]
    )
    assert out["late"] == [] and out["errors"] == []


def test_out_of_order_within_bound_gives_the_same_sessions():
    # Arrival order scrambled within the 5 s bound: Flink's sessions do not depend on it.
    timeline = [
        event("Alice", s, a) for s, a in [(2, "click"), (0, "login"), (8, "logout"), (1, "view"), (7, "search")]
    ]
    out = run_job(sessions.JOB, ["--gap", "3s"], events=lines(timeline))
    assert sorted((s["event_count"], s["actions"][0]) for s in out["sessions"]) == [(2, "search"), (3, "login")]
    assert out["late"] == []


@pytest.mark.parametrize("operator", OPERATORS)
def test_late_event_goes_to_late_with_its_fields(operator):
    # The watermark reaches 100 - 5 = 95 s; a session at 10 s (window end 13 s) has closed.
    stream = [event("Alice", 10, "view"), event("Alice", 100, "view"), event("Alice", 11, "click", page="/late")]
    out = run_job(sessions.JOB, ["--gap", "3s", "--build", operator], events=lines(stream))
    assert out["late"] == [stream[2]]
    assert [s["event_count"] for s in out["sessions"]] == [1, 1]
    assert_accounted(out, 3)


def test_invalid_records_go_to_errors_with_reasons():
    good = event("Alice", 0, "view")
    bad = {
        "not json": "not valid JSON: Expecting value at line 1 column 1",
        "[1, 2]": "expected a JSON object, got array",
        json.dumps({"timestamp": good["timestamp"]}): "required field 'user_id' is missing",
        json.dumps({"user_id": "Bob"}): "missing required field 'timestamp'",
        json.dumps({"user_id": 7, "timestamp": good["timestamp"]}): "field 'user_id' must be a string, got number",
        json.dumps(
            {"user_id": "Bob", "value": "3", "timestamp": good["timestamp"]}
        ): "field 'value' must be a number, got string",
        json.dumps({"user_id": "Bob", "timestamp": "noon"}): "timestamp 'noon' is not an ISO-8601 time",
        "": "empty record",
    }
    out = run_job(sessions.JOB, ["--gap", "3s"], events=lines([good, *bad]))
    assert canonical(out["errors"]) == canonical(
        [{"job": "sessions", "error": reason, "raw": raw} for raw, reason in bad.items()]
    )
    assert [s["event_count"] for s in out["sessions"]] == [1]
    assert_accounted(out, 1 + len(bad))


def random_stream(seed, users=15, per_user=25, bound_ms=2_000, late_fraction=0.05):
    rng = random.Random(seed)
    timed = []
    for u in range(users):
        t = BASE_MS + rng.randint(0, 5_000)
        for _ in range(per_user):
            t += rng.choice([rng.randint(100, 2_500)] * 4 + [rng.randint(3_000, 20_000)])
            timed.append({"user_id": f"u{u}", "ts": t, "action": rng.choice(["a", "b", "c", None])})
    arrival = []
    for e in timed:
        delay = rng.uniform(0, bound_ms) if rng.random() > late_fraction else rng.uniform(bound_ms + 3_000, 30_000)
        arrival.append((e["ts"] + delay, e))
    return [e for _, e in sorted(arrival, key=lambda pair: pair[0])]


@pytest.mark.parametrize(
    ("seed", "parallelism", "operator"),
    # The JVM operator once (the byte-for-byte test compares it with the Python one on more cases).
    [(1, 1, "python"), (1, 2, "python"), (2, 1, "python"), (2, 2, "python"), (2, 2, "jvm")],
)
def test_randomized_out_of_order_input_matches_brute_force(seed, parallelism, operator):
    stream = random_stream(seed)
    records = [
        {"user_id": e["user_id"], "timestamp": e["ts"], **({"action": e["action"]} if e["action"] else {})}
        for e in stream
    ]
    out = run_job(
        sessions.JOB,
        ["--parallelism", str(parallelism), "--gap", "3s", "--out-of-orderness", "2s", "--build", operator],
        events=lines(records),
    )

    expected, late = sessionize(stream, gap_ms=3_000, bound_ms=2_000)
    assert late, "the input must exercise late data"
    assert canonical(out["sessions"]) == canonical(
        [
            {
                "user_id": s["user_id"],
                "session_start": format_time(s["start"]),
                "session_end": format_time(s["last"]),
                "window_end": format_time(s["end"]),
                "duration_s": (s["last"] - s["start"]) / 1000,
                "event_count": s["count"],
                "actions": s["actions"],
            }
            for s in expected
        ]
    )
    assert canonical(out["late"]) == canonical(
        [
            {"user_id": e["user_id"], "timestamp": e["ts"], **({"action": e["action"]} if e["action"] else {})}
            for e in late
        ]
    )
    assert_accounted(out, len(records))


def test_process_mode_gives_the_same_result_as_thread_mode():
    stream = random_stream(3, users=5, per_user=15)
    records = lines({"user_id": e["user_id"], "timestamp": e["ts"], "action": e["action"]} for e in stream)
    argv = ["--gap", "3s", "--out-of-orderness", "2s"]
    thread = run_job(sessions.JOB, argv, events=records)
    process = run_job(sessions.JOB, [*argv, "--execution-mode", "process"], events=records)
    assert_same_records(thread, process)
