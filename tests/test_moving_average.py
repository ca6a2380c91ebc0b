"""The moving_average job: the seed's 20-event example, keys, late and partially late events,
randomized out-of-order input against a brute-force reference and against Flink SQL's HOP
window TVF, invalid records, and the count identity.

The references that decide what the job computes run against both window operators
(``--build python`` and ``jvm``); the JVM one's refusals are in tests/unit."""

import json
import random

import pytest

from jobs import moving_average
from runner.cli import parse, run_command
from runner.errors import OptionError
from runner.outputs import read_file_outputs
from runner.run import prepare
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


OPERATORS = ("python", "jvm")


def with_operator(argv, operator):
    return [*argv, "--build", operator]


@pytest.mark.parametrize("operator", OPERATORS)
def test_seed_example_20_events_10s_5s(operator):
    # Seed section 1: 20 events one second apart, value 1..10; one global stream.
    values = [(i * 7) % 10 + 1 for i in range(20)]
    events = [at(i, user_id="u", id=i, value=v) for i, v in enumerate(values)]
    out = run_job(moving_average.JOB, with_operator([], operator), events=lines(events))
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


KEYED = [
    at(0, user_id="a", tenant="acme", region="eu", value=1),
    at(1, user_id="b", tenant="acme", value=2),
    at(2, user_id="a", value=4, region="us"),
]


@pytest.mark.parametrize("operator", OPERATORS)
def test_key_field_typed_and_missing(operator):
    out = run_job(moving_average.JOB, with_operator(["--key-field", "tenant"], operator), events=lines(KEYED))
    assert canonical(out["windows"]) == canonical(
        [
            window("acme", -5, 5, [1, 2], 0),
            window("acme", 0, 10, [1, 2], 2),
            window(None, -5, 5, [4], 0),
            window(None, 0, 10, [4], 1),
        ]
    )


def test_key_field_untyped():
    events = KEYED
    out = run_job(
        moving_average.JOB, ["--key-field", "region", "--size", "10s", "--slide", "10s"], events=lines(events)
    )
    assert sorted((w["key"] or "", w["count"]) for w in out["windows"]) == [("", 1), ("eu", 1), ("us", 1)]


def test_missing_value_counts_as_zero():
    out = run_job(
        moving_average.JOB, ["--slide", "10s"], events=lines([at(1, user_id="a", value=3), at(2, user_id="a")])
    )
    assert out["windows"] == [window(None, 0, 10, [3, 0], 2)]


@pytest.mark.parametrize("operator", OPERATORS)
def test_late_event_goes_to_late_once_and_partially_late_event_counts_where_it_can(operator):
    # Watermark after t=16 s is 11 s (bound 5 s): [0, 10) has fired, [5, 15) has not.
    events = [
        at(1, user_id="a", value=1),
        at(16, user_id="a", value=1),
        at(7, user_id="a", value=10, note="partially late"),  # misses [0, 10), lands in [5, 15)
        at(30, user_id="a", value=1),  # watermark 25 s: [5, 15) and [10, 20) have fired
        at(12, user_id="a", value=100, note="late"),
    ]  # misses [5, 15) and [10, 20): late, once
    out = run_job(moving_average.JOB, with_operator([], operator), events=lines(events))
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


def random_stream(seed, n=400, keys=("a", "b", "c"), bound_ms=2_000, late_fraction=0.06, values=None):
    """Events over ~2 min in arrival order: most delayed within the bound, some far beyond it.
    ``values``: what ``value`` is drawn from (default: whole numbers, whose sums are exact)."""
    rng = random.Random(seed)
    timed = []
    for i in range(n):
        ts = BASE_MS + rng.randint(0, 120_000)
        record = {"user_id": rng.choice(keys), "timestamp": ts, "seq": i}
        if rng.random() < 0.9:
            record["value"] = rng.choice(values) if values else rng.randint(-5, 50)
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
        total = sum(values, 0.0)  # one by one, in arrival order, as Flink's window operators add
        windows.append(
            {
                "key": f["key"],
                "window_start": format_time(f["start"]),
                "window_end": format_time(f["end"]),
                "count": len(values),
                "sum": round(total, 9),
                "avg": round(total / len(values), 9),
                "leaving": sum(1 for e in f["events"] if f["start"] <= e["ts"] < f["start"] + slide_ms),
            }
        )
    return windows, [e["record"] for e in late]


RANDOMIZED = [(1, 10_000, 5_000, None), (2, 10_000, 2_000, "user_id"), (3, 7_000, 3_000, "user_id")]
RANDOMIZED += [(6, 6_000, 6_000, "user_id")]  # size = slide: tumbling windows, every event leaves


@pytest.mark.parametrize(
    "seed, size, slide, key_field, operator, parallelism",
    # The Python operator at 1 and 2; the JVM operator (a size that is a whole multiple of the
    # slide only) at 2, where its late test and the window's watermark could part (the other
    # tests run it at 1, and at 4 on the bundled sample).
    [(*case, "python", p) for case in RANDOMIZED for p in (1, 2)]
    + [(*case, "jvm", 2) for case in RANDOMIZED if case[1] % case[2] == 0],
)
def test_randomized_out_of_order_input_matches_brute_force(seed, size, slide, key_field, operator, parallelism):
    records = random_stream(seed)
    argv = ["--size", f"{size}ms", "--slide", f"{slide}ms", "--out-of-orderness", "2s"]
    argv += ["--key-field", key_field] if key_field else []
    argv = with_operator([*argv, "--parallelism", str(parallelism)], operator)
    out = run_job(moving_average.JOB, argv, events=lines(records))
    windows, late = expected_windows(records, size, slide, 2_000, key_field)
    assert late, "the input must exercise late data"
    assert canonical(out["windows"]) == canonical(windows)
    assert canonical(out["late"]) == canonical(late)
    assert_accounted(out, len(records))


#: Values whose sums depend on the order of addition (1e16 + 0.1 - 1e16 is 0.0 or 0.1): the two
#: operators give the same ``sum`` only if each adds a window's values in the same order.
ORDER_SENSITIVE = (0.1, 0.2, 0.7, 1 / 3, 1e16, -1e16, 3.5e15, -0.0)


@pytest.mark.parametrize("operator", OPERATORS)
def test_floating_point_sums_add_in_arrival_order(operator):
    records = random_stream(5, values=ORDER_SENSITIVE)
    argv = ["--size", "10s", "--slide", "2s", "--out-of-orderness", "2s", "--key-field", "user_id"]
    out = run_job(moving_average.JOB, with_operator([*argv, "--parallelism", "2"], operator), events=lines(records))
    windows, late = expected_windows(records, 10_000, 2_000, 2_000, "user_id")
    assert len({w["sum"] for w in windows}) > 50, "the sums must vary"
    assert canonical(out["windows"]) == canonical(windows)
    assert canonical(out["late"]) == canonical(late)


def test_the_jvm_window_aggregate_adds_per_window_behind_one_watermark_per_reader():
    # What makes the JVM operator's sums and partially late events match the Python operator's:
    # one aggregation phase over the TVF's (event, window) rows, and everything up to the keyed
    # exchange with the input's reader (one, here), so each aggregate subtask hears its watermark.
    from pyflink.common import Types

    argv = ["--key-field", "user_id", "--parallelism", "2", "--build", "jvm"]
    config = parse(moving_average.JOB, argv)
    prepared = prepare(
        moving_average.JOB, config, sources=lambda env: {"events": [env.from_collection(["{}"], Types.STRING())]}
    )
    nodes = {n["id"]: n for n in json.loads(prepared.env.get_execution_plan())["nodes"]}
    (aggregate,) = [n for n in nodes.values() if "WindowAggregate(" in n["contents"]]
    assert aggregate["contents"].startswith("[") and "]:WindowAggregate(" in aggregate["contents"]
    assert "win_start=[window_start]" in aggregate["contents"]  # the TVF's windows, not slices
    assert aggregate["parallelism"] == 2
    ((upstream, exchange),) = [(p["id"], p["ship_strategy"]) for p in aggregate["predecessors"]]
    assert exchange == "HASH"
    todo = [upstream]
    while todo:
        node = nodes[todo.pop()]
        assert node["parallelism"] == 1, node["contents"]
        assert all(p["ship_strategy"] == "FORWARD" for p in node.get("predecessors", [])), node["contents"]
        todo += [p["id"] for p in node.get("predecessors", [])]


def test_on_the_bundled_sample_the_jvm_operator_at_parallelism_4_gives_the_python_operators_outputs(tmp_path):
    # the sample has late and partially late events at this bound
    argv = ["--out-of-orderness", "1s", "--key-field", "user_id", "--sink", "file"]
    outputs = []
    for operator, parallelism in (("python", 1), ("jvm", 4)):
        out = tmp_path / operator
        assert (
            run_command(
                moving_average.JOB,
                with_operator([*argv, "--output", str(out), "--parallelism", str(parallelism)], operator),
            )
            == 0
        )
        outputs.append({k: canonical(v) for k, v in read_file_outputs(out, ["windows", "late", "errors"]).items()})
    assert outputs[0]["late"] and outputs[0]["windows"] and outputs[0]["errors"]
    assert outputs[1] == outputs[0]


@pytest.mark.parametrize("operator", OPERATORS)
def test_randomized_input_within_the_bound_matches_flink_sql_hop(operator):
    records = random_stream(4, late_fraction=0)
    argv = ["--size", "10s", "--slide", "5s", "--out-of-orderness", "2s", "--key-field", "user_id"]
    out = run_job(moving_average.JOB, with_operator(argv, operator), events=lines(records))
    truth = window_totals(moving_average.JOB, argv, lines(records), "HOP", 10_000, 5_000, key="user_id")
    assert out["late"] == []
    assert sorted(
        (w["key"], w["window_start"], w["window_end"], w["count"], w["sum"]) for w in out["windows"]
    ) == sorted(
        (t["key"], format_time(t["window_start"]), format_time(t["window_end"]), t["count"], t["sum"]) for t in truth
    )


@pytest.mark.parametrize("operator", OPERATORS)
def test_invalid_records_go_to_errors_and_are_accounted_for(operator):
    good = at(0, user_id="a", value=2)
    bad = [
        "{oops",
        json.dumps({"user_id": "a", "value": "2", "timestamp": good["timestamp"]}),
        json.dumps({"user_id": "a"}),
    ]
    out = run_job(moving_average.JOB, with_operator([], operator), events=lines([good, *bad]))
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
