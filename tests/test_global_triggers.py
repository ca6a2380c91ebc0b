"""The global_triggers job: the seed's three trigger kinds (every 100 events, every 10 s of event
time, on a condition), the end-of-input firing, randomized out-of-order input against a
brute-force reference, invalid records and options, and the count identity."""

import json
import random

import pytest

from jobs import global_triggers
from runner.cli import parse
from runner.errors import OptionError
from samples.generate import BASE_MS
from tests.harness import canonical, lines, run_job
from tests.reference import global_firings
from udfs.timeutil import format_time


def at(second, **fields):
    return {"timestamp": format_time(BASE_MS + int(second * 1000)), **fields}


def firing(user, trigger, fired_at_s, seconds, values):
    return {
        "user_id": user,
        "trigger": trigger,
        "fired_at": format_time(BASE_MS + int(fired_at_s * 1000)),
        "event_count": len(seconds),
        "sum": float(sum(values)),
        "first_event": format_time(BASE_MS + int(min(seconds) * 1000)),
        "last_event": format_time(BASE_MS + int(max(seconds) * 1000)),
    }


def assert_accounted(outputs, records_in):
    assert global_triggers.JOB.accounted(outputs) == records_in


def test_every_100_events_by_default_and_the_rest_at_end_of_input():
    # 250 events of Alice (value 1) and 30 of Bob, interleaved, one per 100 ms.
    events = [at(i / 10, user_id="Bob" if i % 9 == 0 and i < 270 else "Alice", value=1) for i in range(280)]
    alice = [i / 10 for i in range(280) if events[i]["user_id"] == "Alice"]
    bob = [i / 10 for i in range(280) if events[i]["user_id"] == "Bob"]
    out = run_job(global_triggers.JOB, [], events=lines(events))
    assert canonical(out["firings"]) == canonical(
        [
            firing("Alice", "count", alice[99], alice[:100], [1] * 100),
            firing("Alice", "count", alice[199], alice[100:200], [1] * 100),
            firing("Alice", "end_of_input", alice[-1], alice[200:], [1] * len(alice[200:])),
            firing("Bob", "end_of_input", bob[-1], bob, [1] * len(bob)),
        ]
    )
    assert_accounted(out, 280)


def test_every_10s_of_event_time():
    # Deadline = earliest pending event + 10 s; it fires when the watermark (bound 2 s) passes it.
    events = [
        at(0, user_id="a", value=1),
        at(4, user_id="a", value=2),
        at(9, user_id="a", value=3),
        at(11, user_id="a", value=4),  # watermark 9 s
        at(12.5, user_id="a", value=5),  # arrives before the watermark passes 10 s: in the firing
        at(13, user_id="a", value=6),  # watermark was 10.5 s: the 10 s deadline fired; new one 23 s
        at(30, user_id="b", value=7),  # watermark 28 s: the 23 s deadline fires
        at(31, user_id="a", value=8),
    ]  # pending at the end
    out = run_job(global_triggers.JOB, ["--trigger", "time:10s", "--out-of-orderness", "2s"], events=lines(events))
    assert canonical(out["firings"]) == canonical(
        [
            firing("a", "time", 10, [0, 4, 9, 11, 12.5], [1, 2, 3, 4, 5]),
            firing("a", "time", 23, [13], [6]),
            firing("a", "end_of_input", 31, [31], [8]),
            firing("b", "end_of_input", 30, [30], [7]),
        ]
    )
    assert_accounted(out, 8)


@pytest.mark.parametrize("build", ["python", "jvm"])
def test_time_deadline_follows_an_earlier_out_of_order_event_and_fires_at_once_when_behind(build):
    events = [
        at(20, user_id="a", value=1),
        at(14, user_id="a", value=2),  # deadline 30 s -> 24 s
        at(40, user_id="b", value=3),  # watermark 35 s: a's 24 s deadline fires
        at(5, user_id="a", value=4),
    ]  # deadline 15 s, already behind the watermark: fires on arrival
    argv = ["--trigger", "time:10s", "--out-of-orderness", "5s", "--build", build]
    out = run_job(global_triggers.JOB, argv, events=lines(events))
    assert canonical(out["firings"]) == canonical(
        [
            firing("a", "time", 24, [20, 14], [1, 2]),
            firing("a", "time", 15, [5], [4]),
            firing("b", "end_of_input", 40, [40], [3]),
        ]
    )


def test_condition_fires_with_the_matching_event():
    events = [
        at(0, user_id="a", action="view", value=1),
        at(1, user_id="a", action="add_to_cart", value=2),
        at(2, user_id="a", action="purchase", value=3),
        at(3, user_id="a", action="view", value=4),
        at(4, user_id="b", action="purchase", value=5),
        at(5, user_id="a"),
    ]
    out = run_job(global_triggers.JOB, ["--trigger", "condition:purchase"], events=lines(events))
    assert canonical(out["firings"]) == canonical(
        [
            firing("a", "condition", 2, [0, 1, 2], [1, 2, 3]),
            firing("b", "condition", 4, [4], [5]),
            firing("a", "end_of_input", 5, [3, 5], [4, 0]),
        ]
    )
    assert_accounted(out, 6)


def random_stream(seed, n=500, users=5, bound_ms=2_000):
    rng = random.Random(seed)
    timed = []
    for i in range(n):
        record = {
            "user_id": f"u{rng.randrange(users)}",
            "timestamp": BASE_MS + rng.randint(0, 150_000),
            "seq": i,
            "action": rng.choice(["view", "click", "purchase", "view", "search"]),
        }
        if rng.random() < 0.9:
            record["value"] = rng.randint(-5, 50)
        timed.append(record)
    arrival = []
    for r in timed:
        delay = rng.uniform(bound_ms, 30_000) if rng.random() < 0.1 else rng.uniform(0, bound_ms)
        arrival.append((r["timestamp"] + delay, r["seq"], r))
    return [r for *_, r in sorted(arrival)]


TRIGGERS = [("count:7", "count", 7), ("time:6s", "time", 6_000), ("condition:purchase", "condition", "purchase")]


# Both builds: ``--build jvm`` runs the same triggers on Flink's Java window operator.
@pytest.mark.parametrize(
    "trigger, kind, arg, parallelism, build",
    [(*trigger, parallelism, "python") for trigger in TRIGGERS for parallelism in (1, 2)]
    + [(*trigger, 1 + i % 2, "jvm") for i, trigger in enumerate(TRIGGERS)],
)
def test_randomized_out_of_order_input_matches_brute_force(trigger, kind, arg, parallelism, build):
    records = random_stream(len(trigger))
    out = run_job(
        global_triggers.JOB,
        ["--parallelism", str(parallelism), "--trigger", trigger, "--out-of-orderness", "2s", "--build", build],
        events=lines(records),
    )
    events = [
        {"user_id": r["user_id"], "ts": r["timestamp"], "value": r.get("value", 0), "action": r["action"]}
        for r in records
    ]
    expected = global_firings(events, kind, arg, 2_000)
    assert {f["trigger"] for f in expected} == {kind, "end_of_input"}
    assert canonical(out["firings"]) == canonical(
        [
            {
                **f,
                "sum": float(f["sum"]),
                "fired_at": format_time(f["fired_at"]),
                "first_event": format_time(f["first_event"]),
                "last_event": format_time(f["last_event"]),
            }
            for f in expected
        ]
    )
    assert_accounted(out, len(records))


def test_invalid_records_go_to_errors_and_are_accounted_for():
    good = at(0, user_id="a", value=2)
    out = run_job(
        global_triggers.JOB, [], events=lines([good, "[]", json.dumps({"user_id": "a", "timestamp": "soon"})])
    )
    assert [e["error"] for e in out["errors"]] == [
        "expected a JSON object, got array",
        "timestamp 'soon' is not an ISO-8601 time",
    ]
    assert [f["event_count"] for f in out["firings"]] == [1]
    assert_accounted(out, 3)


@pytest.mark.parametrize("bad", ["count:0", "count:x", "time:10", "time:0s", "condition:", "every:3"])
def test_bad_trigger_option_is_one_clear_line(bad):
    with pytest.raises(OptionError) as error:
        parse(global_triggers.JOB, ["--trigger", bad])
    assert "--trigger" in error.value.message and "\n" not in error.value.message


def test_process_mode_gives_the_same_firings_as_thread_mode():
    # The two modes deliver a GlobalWindow's timers through different callbacks (see _EndOfInputTrigger).
    records = lines(random_stream(9, n=150))
    argv = ["--trigger", "time:6s", "--out-of-orderness", "2s"]
    thread = run_job(global_triggers.JOB, argv, events=records)
    process = run_job(global_triggers.JOB, [*argv, "--execution-mode", "process"], events=records)
    assert canonical(thread["firings"]) == canonical(process["firings"])
    assert {f["trigger"] for f in process["firings"]} == {"time", "end_of_input"}
