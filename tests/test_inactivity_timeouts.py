"""The inactivity_timeouts job: the seed example, arrival-order independence, the boundary, late
events, randomized input against a brute-force reference, state cleanup, and the count identity."""

import itertools
import random

import pytest

from jobs import inactivity_timeouts
from runner.cli import parse
from runner.errors import OptionError
from samples.generate import BASE_MS
from tests.harness import assert_same_records, canonical, lines, run_job
from tests.observed import traced_timeouts_build as traced_build
from tests.reference import inactivity_timeouts as reference
from udfs.timeutil import format_time


def event(user, ms, action="view", **extra):
    return {"user_id": user, "action": action, "timestamp": format_time(BASE_MS + ms), **extra}


def timeout(user, last_ms, count, timeout_ms=3_000):
    return {
        "user_id": user,
        "last_seen": format_time(BASE_MS + last_ms),
        "timeout_at": format_time(BASE_MS + last_ms + timeout_ms),
        "inactive_s": timeout_ms / 1000,
        "event_count": count,
    }


def run(stream, *argv, traced=True):
    out = run_job(inactivity_timeouts.JOB, list(argv), build=traced_build if traced else None, events=lines(stream))
    if traced:
        trace = out.pop("state")
        assert {r["user_id"] for r in trace} == {t["user_id"] for t in out["timeouts"]}
        assert_state_cleared(trace)
    return out


def assert_state_cleared(trace):
    """Per user, state appears and is cleared alternately, and is cleared at the end: no user's
    state (and no timer, which exists exactly while state does) outlives its last timeout."""
    by_user = {}
    for record in trace:
        by_user.setdefault(record["user_id"], []).append(record["live"])
    for user, changes in by_user.items():
        assert changes == [True, False] * (len(changes) // 2), (user, changes)


def test_seed_example_alice_and_bob():
    # Seed section 4: Alice at 0 s and 2 s, Bob at 1 s; timeout 3 s -> Alice at 5 s, Bob at 4 s.
    stream = [event("Alice", 0, "click"), event("Bob", 1_000, "view"), event("Alice", 2_000, "scroll")]
    out = run(stream, "--timeout", "3s")
    assert canonical(out["timeouts"]) == canonical([timeout("Alice", 2_000, 2), timeout("Bob", 1_000, 1)])
    assert out["late"] == [] and out["errors"] == []


def test_every_arrival_order_within_the_bound_gives_the_same_timeouts():
    # One user per permutation of the same four events (gaps 5 s, 1 s, 4 s with a 3 s timeout).
    # Deleting the timer on every event would see 10 s before 5 s and miss the gaps after 0 s and 5 s.
    times = [0, 5_000, 6_000, 10_000]
    orders = list(itertools.permutations(times))
    stream = [event(f"u{i:02d}", t) for i, order in enumerate(orders) for t in order]
    out = run(stream, "--timeout", "3s", "--out-of-orderness", "1h")
    assert canonical(out["timeouts"]) == canonical(
        [timeout(f"u{i:02d}", last, n) for i in range(len(orders)) for last, n in [(0, 1), (6_000, 2), (10_000, 1)]]
    )
    assert out["late"] == []


def test_a_gap_equal_to_the_timeout_is_not_inactivity():
    # No out-of-orderness: Carol's event at 3 s arrives when the watermark is exactly 3 s (0 s +
    # timeout), which is not behind it: she was not inactive for more than 3 s.
    stream = [
        event("Alice", 0),
        event("Bob", 0),
        event("Carol", 0),
        event("Alice", 3_000),
        event("Carol", 3_000),
        event("Bob", 3_001),
    ]
    out = run(stream, "--timeout", "3s", "--out-of-orderness", "0ms")
    assert canonical(out["timeouts"]) == canonical(
        [
            timeout("Alice", 3_000, 2),
            timeout("Bob", 0, 1),
            timeout("Bob", 3_001, 1),
            timeout("Carol", 3_000, 2),
        ]
    )
    assert out["late"] == []


def test_late_events_go_to_late_and_invalid_records_to_errors():
    # The watermark reaches 20 - 2 = 18 s: Alice's event at 11 s can no longer be put in order.
    stream = [
        event("Alice", 10_000),
        event("Alice", 20_000),
        event("Alice", 11_000, "click", page="/late"),
        {"user_id": "Alice", "timestamp": "noon"},
    ]
    out = run([*stream[:3], *lines(stream[3:])], "--out-of-orderness", "2s")
    assert out["late"] == [stream[2]]
    assert canonical(out["timeouts"]) == canonical([timeout("Alice", 10_000, 1), timeout("Alice", 20_000, 1)])
    assert [e["error"] for e in out["errors"]] == ["timestamp 'noon' is not an ISO-8601 time"]


def random_stream(seed, users=12, per_user=30, bound_ms=2_000, late_fraction=0.05):
    rng = random.Random(seed)
    timed = []
    for u in range(users):
        t = rng.randint(0, 5_000)
        for _ in range(per_user):
            # Gaps around the 3 s timeout, exactly 3 s included, and some duplicate times.
            t += rng.choice(
                [0, rng.randint(1, 2_900), 3_000, 3_001, rng.randint(2_500, 3_500), rng.randint(3_000, 15_000)]
            )
            timed.append({"user_id": f"u{u}", "ts": t})
    arrival = []
    for e in timed:
        delay = rng.uniform(0, bound_ms) if rng.random() > late_fraction else rng.uniform(bound_ms + 1_000, 20_000)
        arrival.append((e["ts"] + delay, e))
    return [e for _, e in sorted(arrival, key=lambda pair: pair[0])]


def as_records(stream):
    # Both timestamp spellings SPEC allows.
    return [
        {"user_id": e["user_id"], "timestamp": BASE_MS + e["ts"] if i % 3 else format_time(BASE_MS + e["ts"])}
        for i, e in enumerate(stream)
    ]


# Both builds: ``--build jvm`` runs the same function in the JVM (its state is not traced).
@pytest.mark.parametrize(
    "seed, parallelism, build",
    [(1, 1, "python"), (1, 2, "python"), (2, 1, "python"), (2, 2, "python"), (1, 2, "jvm"), (2, 1, "jvm")],
)
def test_randomized_out_of_order_input_matches_brute_force(seed, parallelism, build):
    stream = random_stream(seed)
    records = as_records(stream)
    argv = ["--parallelism", str(parallelism), "--timeout", "3s", "--out-of-orderness", "2s", "--build", build]
    out = run(records, *argv, traced=build == "python")
    expected, late = reference(stream, timeout_ms=3_000, bound_ms=2_000)
    assert late, "the input must exercise late data"
    assert canonical(out["timeouts"]) == canonical([timeout(t["user_id"], t["last"], t["count"]) for t in expected])
    late_ids = {id(e) for e in late}
    assert canonical(out["late"]) == canonical([r for r, e in zip(records, stream, strict=False) if id(e) in late_ids])


@pytest.mark.parametrize("build", ["python", "jvm"])
def test_watermarks_far_behind_fold_everything_at_the_end_of_input(build):
    # With a 1 h bound no timer fires before the input ends: the final watermark resolves every gap.
    stream = random_stream(4, users=5, per_user=20, late_fraction=0)
    out = run(
        as_records(stream), "--timeout", "3s", "--out-of-orderness", "1h", "--build", build, traced=build == "python"
    )
    expected, late = reference(stream, timeout_ms=3_000, bound_ms=3_600_000)
    assert late == [] and out["late"] == []
    assert canonical(out["timeouts"]) == canonical([timeout(t["user_id"], t["last"], t["count"]) for t in expected])


def test_process_mode_gives_the_same_result_as_thread_mode():
    records = as_records(random_stream(3, users=4, per_user=15))
    argv = ["--timeout", "3s", "--out-of-orderness", "2s"]
    thread = run(records, *argv)
    process = run(records, *argv, "--execution-mode", "process")
    assert_same_records(thread, process)


def test_timeout_must_be_positive():
    with pytest.raises(OptionError) as error:
        parse(inactivity_timeouts.JOB, ["--timeout", "0s"])
    assert error.value.message.endswith("argument --timeout: must be longer than 0ms, got '0s'")


def sample_events():
    """The bundled sample as the job reads it: (raw lines, the valid ones as {"user_id", "ts"})."""
    from runner.cli import SAMPLES
    from udfs.events import ACTIVITY, InvalidRecord

    raw = (SAMPLES / "activity.jsonl").read_text(encoding="utf-8").splitlines()
    valid = []
    for text in raw:
        try:
            row = ACTIVITY.parse(text)
        except InvalidRecord:
            continue
        valid.append({"user_id": row[0], "ts": row[-2] - BASE_MS})  # positional: user_id, ..., ts, raw
    return raw, valid


def test_bundled_sample_matches_brute_force():
    raw, valid = sample_events()
    out = run(raw)  # the defaults: --timeout 3s, --out-of-orderness 5s
    expected, late = reference(valid, timeout_ms=3_000, bound_ms=5_000)
    assert canonical(out["timeouts"]) == canonical([timeout(t["user_id"], t["last"], t["count"]) for t in expected])
    assert len(out["late"]) == len(late) and len(out["errors"]) == len(raw) - len(valid)
