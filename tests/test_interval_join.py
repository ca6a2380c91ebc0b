"""The interval_join job: the seed's clicks and purchases, inclusive bounds, a negative lower
bound, late and invalid records, and randomized out-of-order input against a brute-force
nested-loop reference."""

import json

import pytest

from jobs import interval_join
from runner.cli import parse
from tests.harness import canonical, run_job
from tests.join_inputs import SEED_CLICKS, SEED_PURCHASES, at, consumed_total, lines, random_inputs, record
from tests.reference import interval_join as reference
from udfs.timeutil import format_time


def conversion(click, purchase):
    """SPEC's record for a click and a purchase given as events (``ts`` in ms)."""
    return {
        "user_id": click["user_id"],
        "click_time": format_time(click["ts"]),
        "purchase_time": format_time(purchase["ts"]),
        "delay_s": (purchase["ts"] - click["ts"]) / 1000,
        "page": click.get("page"),
        "product_id": purchase.get("product_id"),
        "amount": purchase["amount"],
    }


def test_seed_example_default_interval():
    clicks, purchases = SEED_CLICKS, SEED_PURCHASES
    out = run_job(
        interval_join.JOB, [], clicks=[json.dumps(c) for c in clicks], purchases=[json.dumps(p) for p in purchases]
    )
    c0, c6 = (
        {"user_id": "Alice", "ts": at(0), "page": "/product/1"},
        {"user_id": "Alice", "ts": at(6), "page": "/product/3"},
    )
    p2, p7 = {"ts": at(2), "product_id": 1, "amount": 50}, {"ts": at(7), "product_id": 3, "amount": 75}
    # Within [click, click + 1h]: click 0 s -> purchases 2 s and 7 s; click 6 s -> purchase 7 s.
    assert canonical(out["conversions"]) == canonical([conversion(c0, p2), conversion(c0, p7), conversion(c6, p7)])
    assert out["late"] == [] and out["errors"] == []
    assert interval_join.JOB.accounted(out) == 6


def test_both_bounds_are_inclusive():
    clicks = [{"user_id": "A", "ts": at(10), "page": "/p"}, {"user_id": "B", "ts": at(10)}]
    purchases = [{"user_id": "A", "ts": at(s), "amount": s} for s in (10.999, 11, 12, 13, 13.001)]
    purchases.append({"user_id": "B", "ts": at(12), "amount": 1.0, "product_id": "x"})
    out = run_job(
        interval_join.JOB, ["--lower", "1s", "--upper", "3s"], clicks=lines(clicks), purchases=lines(purchases)
    )
    assert canonical(out["conversions"]) == canonical(
        [conversion(clicks[0], p) for p in purchases[1:4]] + [conversion(clicks[1], purchases[5])]
    )
    assert interval_join.JOB.accounted(out) == 8


def test_negative_lower_bound_joins_purchases_before_the_click():
    clicks = [{"user_id": "A", "ts": at(10)}]
    purchases = [{"user_id": "A", "ts": at(s), "amount": 1.0} for s in (7.999, 8, 10, 10.001)]
    # A negative bound as a separate argument, as a shell passes it: argparse must not take it for an option.
    argv = ["--lower", "-2s", "--upper", "0s"]
    out = run_job(interval_join.JOB, argv, clicks=lines(clicks), purchases=lines(purchases))
    assert canonical(out["conversions"]) == canonical([conversion(clicks[0], p) for p in purchases[1:3]])
    assert [c["delay_s"] for c in sorted(out["conversions"], key=lambda c: c["delay_s"])] == [-2.0, 0.0]


def test_records_at_or_behind_their_inputs_watermark_are_late():
    # Bound 2 s: the clicks' watermark is 8 s after the click at 10 s; a click at exactly 8 s is
    # covered by it (a watermark W promises no more records with time <= W): late.
    clicks = [
        {"user_id": "A", "ts": at(10)},
        {"user_id": "A", "ts": at(8), "page": "/late"},
        {"user_id": "A", "ts": at(8.001)},
    ]
    purchases = [{"user_id": "A", "ts": at(9), "amount": 1.0}]
    out = run_job(
        interval_join.JOB,
        ["--out-of-orderness", "2s", "--upper", "5s"],
        clicks=lines(clicks),
        purchases=lines(purchases),
    )
    assert canonical(out["conversions"]) == canonical([conversion(clicks[2], purchases[0])])
    assert out["late"] == [{**record(clicks[1]), "input": "clicks"}]
    assert interval_join.JOB.accounted(out) == 4


def test_invalid_records_of_either_input_go_to_errors_named():
    out = run_job(
        interval_join.JOB,
        [],
        clicks=["[1]", *lines([{"user_id": "A", "ts": at(0)}])],
        purchases=[json.dumps({"user_id": "A", "amount": 2, "timestamp": "soon"})],
    )
    assert canonical(out["errors"]) == canonical(
        [
            {"job": "interval_join", "error": "clicks: expected a JSON object, got array", "raw": "[1]"},
            {
                "job": "interval_join",
                "error": "purchases: timestamp 'soon' is not an ISO-8601 time",
                "raw": json.dumps({"user_id": "A", "amount": 2, "timestamp": "soon"}),
            },
        ]
    )
    assert out["conversions"] == [] and interval_join.JOB.accounted(out) == 3


def test_option_errors():
    with pytest.raises(SystemExit):
        parse(interval_join.JOB, ["--lower", "2s", "--upper", "1s"])
    with pytest.raises(SystemExit):
        parse(interval_join.JOB, ["--lower=-x"])
    assert parse(interval_join.JOB, ["--lower=-1500ms"]).options.lower_ms == -1500


# Both builds (``--build python`` and ``jvm``), each at parallelism 1 and 2.
@pytest.mark.parametrize(
    "seed, lower, upper, parallelism, build",
    [
        (1, 0, 3_000, 1, "python"),
        (1, 0, 3_000, 2, "python"),
        (2, -1_000, 2_000, 1, "python"),
        (2, -1_000, 2_000, 2, "python"),
        (1, 0, 3_000, 2, "jvm"),
        (2, -1_000, 2_000, 1, "jvm"),
    ],
)
def test_randomized_out_of_order_input_matches_brute_force(seed, lower, upper, parallelism, build):
    clicks, purchases, _ = random_inputs(seed)
    argv = [f"--lower={lower}ms", "--upper", f"{upper}ms", "--out-of-orderness", "2s"]
    out = run_job(
        interval_join.JOB,
        [*argv, "--parallelism", str(parallelism), "--build", build],
        clicks=lines(clicks),
        purchases=lines(purchases),
    )

    pairs, late_clicks, late_purchases = reference(clicks, purchases, lower, upper, bound_ms=2_000)
    assert len(pairs) > 50 and late_clicks and late_purchases, "the input must exercise pairs and late data"
    assert canonical(out["conversions"]) == canonical([conversion(c, p) for c, p in pairs])
    assert canonical(out["late"]) == canonical(
        [{**record(e), "input": "clicks"} for e in late_clicks]
        + [{**record(e), "input": "purchases"} for e in late_purchases]
    )
    assert consumed_total(out, "clicks") == len(clicks) - len(late_clicks)
    assert interval_join.JOB.accounted(out) == len(clicks) + len(purchases)
