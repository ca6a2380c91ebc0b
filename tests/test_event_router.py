"""The event_router job: the seed's five events, tenants and precedence, randomized input against a
brute-force router, and the identity "each record in exactly one output". The references run
against both builds (``--build python`` and ``jvm``)."""

import json
import random

import pytest

from jobs import event_router
from runner.cli import parse
from runner.errors import OptionError
from samples.generate import BASE_MS
from tests.harness import canonical, lines, run_job
from tests.reference import route
from udfs.timeutil import format_time


def event(second, **fields):
    return {**fields, "timestamp": format_time(BASE_MS + int(second * 1000))}


def run(records, *argv):
    out = run_job(event_router.JOB, list(argv), events=lines(records))
    assert event_router.JOB.accounted(out) == len(records)
    return out


def error(reason, record):
    return {"job": "event_router", "error": reason, "raw": json.dumps(record)}


BUILDS = ["python", "jvm"]


@pytest.mark.parametrize("build", BUILDS)
def test_seed_example_five_events(build):
    # Seed section 5 (with the user_id SPEC requires). A 2 s bound puts the watermark at
    # 10 - 2 = 8 s before event 5, as the seed sets it.
    events = [
        event(0, user_id="u", id=1, value=10),
        event(5, user_id="u", id=2, value=20),
        event(6, user_id="u", id=3, value=-5),
        event(10, user_id="u", id=4, value=30),
        event(2, user_id="u", id=5, value=15),
    ]
    out = run(events, "--out-of-orderness", "2s", "--build", build)
    assert out == {
        "valid": [events[0], events[1], events[3]],
        "late": [events[4]],
        "errors": [error("field 'value' must not be negative, got -5", events[2])],
    }


@pytest.mark.parametrize("build", BUILDS)
def test_tenants_get_their_own_outputs_and_errors_and_late_come_first(build):
    events = [
        event(10, user_id="a", value=1, tenant="acme"),
        event(10, user_id="b", value=2, tenant="globex", page="/x"),
        event(11, user_id="c", value=3, tenant="initech"),  # not listed: valid
        event(11, user_id="d", value=0),  # no tenant: valid; 0 is not negative
        event(12, user_id="a", value=-1, tenant="acme"),  # errors before tenant
        event(1, user_id="a", value=4, tenant="acme"),  # behind the watermark (12 - 5 = 7 s): late before tenant
        event(1, user_id="b", tenant="globex"),  # late and no value: errors before late
        event(12, user_id="e", value=None, tenant="acme"),
    ]
    out = run(events, "--tenants", "acme, globex,acme", "--build", build)
    assert out == {
        "valid": [events[2], events[3]],
        "late": [events[5]],
        "errors": [
            error("field 'value' must not be negative, got -1", events[4]),
            error("field 'value' is missing: the router needs a non-negative number", events[6]),
            error("field 'value' is null: the router needs a non-negative number", events[7]),
        ],
        "tenant-acme": [events[0]],
        "tenant-globex": [events[1]],
    }


def random_events(seed, n=400, bound_ms=2_000):
    rng = random.Random(seed)
    timed, t = [], 0
    for i in range(n):
        t += rng.randint(0, 400)
        e = {"user_id": f"u{rng.randint(0, 9)}", "ts": t, "id": i}
        if rng.random() > 0.05:
            e["value"] = rng.choice([rng.uniform(0, 100), -rng.uniform(0, 10), 0, None, 7])
        if rng.random() > 0.1:
            e["tenant"] = rng.choice(["acme", "globex", "initech", "umbrella"])
        timed.append(e)
    arrival = [
        (e["ts"] + (rng.uniform(0, bound_ms) if rng.random() > 0.08 else rng.uniform(bound_ms + 500, 15_000)), e)
        for e in timed
    ]
    return [e for _, e in sorted(arrival, key=lambda pair: pair[0])]


def as_record(e):
    return {k: v for k, v in e.items() if k != "ts"} | {"timestamp": BASE_MS + e["ts"]}


@pytest.mark.parametrize(
    "seed, parallelism, build", [(1, 1, "python"), (2, 2, "python"), (1, 2, "jvm"), (2, 1, "jvm"), (3, 2, "jvm")]
)
def test_randomized_input_matches_brute_force(seed, parallelism, build):
    events = random_events(seed)
    records = [as_record(e) for e in events]
    # Invalid records between them: they reach errors and do not move the watermark.
    rng = random.Random(seed)
    mixed = list(records)
    for junk in ['{"user_id": "x"', "[]", '{"user_id": "x", "value": 1}', ""]:
        mixed.insert(rng.randint(0, len(mixed)), junk)
    argv = ["--tenants", "acme,globex", "--out-of-orderness", "2s", "--parallelism", str(parallelism), "--build", build]
    out = run(mixed, *argv)

    expected = route(events, bound_ms=2_000, tenants=["acme", "globex"])
    assert expected["late"] and expected["errors"], "the input must exercise every output"
    for output in ["valid", "late", "tenant-acme", "tenant-globex"]:
        if parallelism == 1:  # one router: arrival order kept too
            assert out[output] == [as_record(e) for e in expected[output]], output
        assert canonical(out[output]) == canonical([as_record(e) for e in expected[output]]), output
    assert sorted(json.loads(e["raw"])["id"] for e in out["errors"] if e["raw"].startswith('{"user_id": "u')) == sorted(
        e["id"] for e in expected["errors"]
    )
    assert len(out["errors"]) == len(expected["errors"]) + 4


def test_without_tenants_every_on_time_event_is_valid():
    events = [event(0, user_id="a", value=1, tenant="acme"), event(1, user_id="b", value=2)]
    assert run(events) == {"valid": events, "late": [], "errors": []}


@pytest.mark.parametrize(
    "value, message",
    [
        ("bad name", "invalid tenant name 'bad name'"),
        ("a/b", "invalid tenant name 'a/b'"),
        (",", "expected tenant names separated by commas"),
    ],
)
def test_bad_tenant_names_are_one_line_option_errors(value, message):
    with pytest.raises(OptionError) as raised:
        parse(event_router.JOB, ["--tenants", value])
    assert message in raised.value.message and "\n" not in raised.value.message


@pytest.mark.parametrize("build", BUILDS)
def test_bundled_sample_matches_brute_force(build):
    from runner.cli import SAMPLES
    from udfs.events import ACTIVITY, InvalidRecord

    raw = (SAMPLES / "activity.jsonl").read_text(encoding="utf-8").splitlines()
    parsed = []
    for text in raw:
        try:
            row = ACTIVITY.parse(text)  # positional: user_id, action, value, tenant, page, ts, raw
        except InvalidRecord:
            continue
        parsed.append({"value": row[2], "tenant": row[3], "ts": row[5], "record": json.loads(text)})
    out = run_job(event_router.JOB, ["--tenants", "acme,globex", "--build", build], events=raw)
    assert event_router.JOB.accounted(out) == len(raw)

    expected = route(parsed, bound_ms=5_000, tenants=["acme", "globex"])
    for output in ["valid", "late", "tenant-acme", "tenant-globex"]:
        assert out[output] == [e["record"] for e in expected[output]], output
    assert len(out["errors"]) == len(expected["errors"]) + len(raw) - len(parsed)
