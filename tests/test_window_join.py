"""The window_join job: the seed's example, window edges, late and invalid records, and randomized
out-of-order input against a brute-force nested-loop reference."""

import json

import pytest

from jobs import window_join
from runner.cli import parse, run_command
from runner.errors import OptionError
from runner.outputs import read_file_outputs
from tests.harness import canonical, run_job
from tests.join_inputs import SEED_CLICKS, SEED_PURCHASES, at, consumed_total, lines, random_inputs, record
from tests.reference import window_join as reference
from udfs.timeutil import format_time


def match(click, purchase, window_start_s, size_s=5):
    return {
        "user_id": click["user_id"],
        "window_start": format_time(at(window_start_s)),
        "window_end": format_time(at(window_start_s + size_s)),
        "click": click,
        "purchase": purchase,
    }


def test_seed_example():
    clicks, purchases = SEED_CLICKS, SEED_PURCHASES
    out = run_job(
        window_join.JOB, [], clicks=[json.dumps(c) for c in clicks], purchases=[json.dumps(p) for p in purchases]
    )
    # Alice: click 0 s + purchase 2 s in [0, 5); click 6 s + purchase 7 s in [5, 10). Bob, Charlie: no partner.
    assert canonical(out["matches"]) == canonical(
        [match(clicks[0], purchases[0], 0), match(clicks[2], purchases[2], 5)]
    )
    assert out["late"] == [] and out["errors"] == []
    assert consumed_total(out, "clicks") == 3 and consumed_total(out, "purchases") == 3
    assert window_join.JOB.accounted(out) == 6


def test_every_pair_of_a_window_and_windows_without_purchases():
    clicks = [
        {"user_id": "A", "ts": at(s), "page": p}
        for s, p in [(0.5, "/a"), (4.999, "/b"), (5, "/c"), (11, "/d"), (21, "/e")]
    ]
    purchases = [{"user_id": "A", "ts": at(s), "amount": a} for s, a in [(1, 1.0), (3, 2.0), (9.999, 3.0), (16, 4.0)]]
    out = run_job(window_join.JOB, [], clicks=lines(clicks), purchases=lines(purchases))
    c, p = [record(e) for e in clicks], [record(e) for e in purchases]
    # [0,5): 2 clicks x 2 purchases; [5,10): click at 5.000 with purchase at 9.999; 4.999 is not in it.
    # [10,15) and [20,25) have clicks only, [15,20) a purchase only: no matches.
    assert canonical(out["matches"]) == canonical(
        [match(c[0], p[0], 0), match(c[0], p[1], 0), match(c[1], p[0], 0), match(c[1], p[1], 0), match(c[2], p[2], 5)]
    )
    assert window_join.JOB.accounted(out) == 9


def test_window_size_option():
    clicks = [{"user_id": "A", "ts": at(1)}, {"user_id": "A", "ts": at(8)}]
    purchases = [{"user_id": "A", "ts": at(9), "amount": 1.0}]
    out = run_job(window_join.JOB, ["--window", "10s"], clicks=lines(clicks), purchases=lines(purchases))
    c, p = [record(e) for e in clicks], record(purchases[0])
    assert canonical(out["matches"]) == canonical([match(c[0], p, 0, 10), match(c[1], p, 0, 10)])


def test_late_only_when_the_window_has_closed_on_its_own_input():
    # Bound 2 s. Clicks' watermark reaches 8 s after the click at 10 s. The click at 7.5 s is behind
    # it, but its window [5, 10) is still open: it joins. The click at 4 s missed [0, 5): late.
    clicks = [
        {"user_id": "A", "ts": at(10)},
        {"user_id": "A", "ts": at(7.5)},
        {"user_id": "A", "ts": at(4), "page": "/x"},
    ]
    purchases = [{"user_id": "A", "ts": at(1), "amount": 1.0}, {"user_id": "A", "ts": at(6), "amount": 2.0}]
    out = run_job(window_join.JOB, ["--out-of-orderness", "2s"], clicks=lines(clicks), purchases=lines(purchases))
    c, p = [record(e) for e in clicks], [record(e) for e in purchases]
    assert canonical(out["matches"]) == canonical([match(c[1], p[1], 5)])
    assert out["late"] == [{**c[2], "input": "clicks", "window_end": format_time(at(5))}]
    assert window_join.JOB.accounted(out) == 5


def test_invalid_records_of_either_input_go_to_errors_named():
    good_click, good_purchase = {"user_id": "A", "ts": at(0)}, {"user_id": "A", "ts": at(1), "amount": 1.0}
    bad_clicks = {
        "{oops": "clicks: not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        json.dumps({"page": "/x", "timestamp": at(0)}): "clicks: required field 'user_id' is missing",
    }
    bad_purchases = {
        json.dumps({"user_id": "A", "timestamp": at(0)}): "purchases: required field 'amount' is missing",
        json.dumps(
            {"user_id": "A", "amount": "ten", "timestamp": at(0)}
        ): "purchases: field 'amount' must be a number, got string",
    }
    out = run_job(
        window_join.JOB,
        [],
        clicks=[*lines([good_click]), *bad_clicks],
        purchases=[*lines([good_purchase]), *bad_purchases],
    )
    assert canonical(out["errors"]) == canonical(
        [{"job": "window_join", "error": reason, "raw": raw} for raw, reason in {**bad_clicks, **bad_purchases}.items()]
    )
    assert len(out["matches"]) == 1
    assert window_join.JOB.accounted(out) == 6


def test_zero_window_is_an_option_error():
    with pytest.raises(OptionError) as error:
        parse(window_join.JOB, ["--window", "0s"])
    assert (
        error.value.message == "python -m jobs.window_join: error: argument --window: must be longer than 0ms, got '0s'"
    )


# Both builds (``--build python`` and ``jvm``), each at parallelism 1 and 2.
@pytest.mark.parametrize(
    "seed, size, parallelism, build",
    [
        (1, 5_000, 1, "python"),
        (1, 5_000, 2, "python"),
        (2, 3_000, 1, "python"),
        (2, 3_000, 2, "python"),
        (1, 5_000, 2, "jvm"),
        (2, 3_000, 1, "jvm"),
    ],
)
def test_randomized_out_of_order_input_matches_brute_force(seed, size, parallelism, build):
    clicks, purchases, _ = random_inputs(seed)
    out = run_job(
        window_join.JOB,
        ["--parallelism", str(parallelism), "--build", build, "--window", f"{size}ms", "--out-of-orderness", "2s"],
        clicks=lines(clicks),
        purchases=lines(purchases),
    )

    pairs, late_clicks, late_purchases = reference(clicks, purchases, size, bound_ms=2_000)
    assert len(pairs) > 50 and late_clicks and late_purchases, "the input must exercise pairs and late data"
    assert canonical(out["matches"]) == canonical(
        [
            {
                "user_id": c["user_id"],
                "window_start": format_time(ws),
                "window_end": format_time(ws + size),
                "click": record(c),
                "purchase": record(p),
            }
            for c, p, ws in pairs
        ]
    )

    def late(e, name):
        return {**record(e), "input": name, "window_end": format_time(e["ts"] - e["ts"] % size + size)}

    assert canonical(out["late"]) == canonical(
        [late(e, "clicks") for e in late_clicks] + [late(e, "purchases") for e in late_purchases]
    )
    assert consumed_total(out, "clicks") == len(clicks) - len(late_clicks)
    assert consumed_total(out, "purchases") == len(purchases) - len(late_purchases)
    assert window_join.JOB.accounted(out) == len(clicks) + len(purchases)


def test_file_inputs_and_file_sink(tmp_path, capsys):
    clicks, purchases = tmp_path / "c.jsonl", tmp_path / "p.jsonl"
    clicks.write_text(
        "\n".join(lines([{"user_id": "A", "ts": at(1), "page": "/p"}, {"user_id": "B", "ts": at(2)}])) + "\n"
    )
    purchases.write_text("\n".join([*lines([{"user_id": "A", "ts": at(3), "amount": 9.5}]), "not json"]) + "\n")
    assert (
        run_command(
            window_join.JOB,
            [
                "--clicks",
                str(clicks),
                "--purchases",
                str(purchases),
                "--sink",
                "file",
                "--output",
                str(tmp_path / "out"),
            ],
        )
        == 0
    )
    written = read_file_outputs(tmp_path / "out", ["matches", "late", "consumed", "errors"])
    assert [m["purchase"]["amount"] for m in written["matches"]] == [9.5]
    assert [e["error"] for e in written["errors"]] == ["purchases: not valid JSON: Expecting value at line 1 column 1"]
    assert "accounted for   4 of 4 input records: nothing lost" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse(window_join.JOB, ["--clicks", str(tmp_path / "missing.jsonl")])


def test_process_mode_gives_the_same_result_as_thread_mode():
    clicks, purchases, _ = random_inputs(3, users=5, bursts=4)
    argv = ["--out-of-orderness", "2s"]
    thread = run_job(window_join.JOB, argv, clicks=lines(clicks), purchases=lines(purchases))
    process = run_job(
        window_join.JOB, [*argv, "--execution-mode", "process"], clicks=lines(clicks), purchases=lines(purchases)
    )
    assert thread["matches"] and {k: canonical(v) for k, v in thread.items()} == {
        k: canonical(v) for k, v in process.items()
    }
