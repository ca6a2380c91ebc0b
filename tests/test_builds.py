"""Every job that declares a fast build (``Job(fast_builds=...)``, ``--build NAME``) writes, in
it, the bytes of the build its file teaches: one test over every such job, each on an input that
exercises what its builds must agree on (text that ``json.dumps`` escapes, equal times, floats in
exponent notation, missing values, late records and late updates, records echoed from text that
``json.dumps`` would write otherwise), at parallelism 2. Bytes, not parsed records: a parsed
record would not tell ``1e-05`` from ``0.00001``."""

from __future__ import annotations

import importlib
import json
import pkgutil
import random
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

import jobs
from jobs import sessions
from runner.cli import run_command
from tests.join_inputs import random_inputs as join_streams
from tests.join_inputs import record as join_record
from tests.test_event_router import as_record
from tests.test_event_router import random_events as event_router_stream
from tests.test_global_triggers import random_stream as global_triggers_stream
from tests.test_inactivity_timeouts import as_records as timeout_records
from tests.test_inactivity_timeouts import random_stream as timeouts_stream
from tests.test_late_data import random_stream as late_data_stream
from tests.test_moving_average import random_stream as moving_average_stream
from tests.test_sessions import random_stream as sessions_stream
from udfs.job import TEACHING_BUILD

USERS = ["Zoë 😀", 'q"uote\\', "tab\there", "del\x7f", "plain"]
VALUES = [0.1, 0.2, 1e-05, -1e-12, 1e16, 123456.789, -0.0, 3, None]


def sessions_input() -> list[dict]:
    """Equal times (ordered by action), escaped text, late events, sessions re-fired by lateness."""
    rng = random.Random(6)
    actions = ["a", "b", "é", "😀", 'q"', None]
    records = []
    for e in sessions_stream(6, users=len(USERS), per_user=20, late_fraction=0.2):
        fields = {"user_id": USERS[int(e["user_id"][1:])], "timestamp": e["ts"]}
        for action in rng.sample(actions, rng.choice((1, 1, 1, 3))):  # a tie now and then
            records.append({**fields, **({"action": action} if action else {})})
    return records


def late_data_input() -> list[dict]:
    """Huge, tiny, negative-zero and missing values, escaped text, late records and updates."""
    rng = random.Random(7)
    records = []
    for r in late_data_stream(7, n=600, users=len(USERS), late_fraction=0.2):
        value = rng.choice(VALUES)
        fields = {k: v for k, v in r.items() if k != "value"}
        records.append(
            {**fields, "user_id": USERS[int(r["user_id"][1:])], **({} if value is None else {"value": value})}
        )
    return records


def moving_average_input() -> list[dict]:
    """Floats whose sums depend on the order they are added in, escaped keys, late events."""
    return moving_average_stream(8, n=600, keys=tuple(USERS), late_fraction=0.2, values=VALUES)


def event_router_input() -> list[dict | str]:
    """Values missing, null and negative (ints and floats), escaped text, tenants, late events,
    and every 5th record in a text json.dumps would write otherwise (no spaces, \\u escapes,
    exponents, a repeated key), which a routed record echoes as json.dumps does."""
    rng = random.Random(9)
    records: list[dict | str] = []
    for e in event_router_stream(9, n=500):
        record = as_record(e) | {"user_id": rng.choice(USERS)}
        if e["id"] % 23 == 0:
            record["value"] = rng.choice((-3, -0.25, -1e-05))
        records.append(respelled(record) if e["id"] % 5 == 0 else record)
    return records


def join_inputs(*names: str) -> Callable[[], dict[str, list[dict | str]]]:
    """The join tests' inputs ``names`` (clicks, purchases, profiles), with escaped user ids,
    values of every JSON type where the outputs echo them (a purchase's product, a profile's tier;
    the typed page and amount in every form of their type), members named as the ones a job adds
    (``input``, ``profile``), and every 5th record respelled."""

    def make() -> dict[str, list[dict | str]]:
        rng = random.Random(10)
        generated = join_streams(10, users=len(USERS), late_fraction=0.1)
        streams = dict(zip(("clicks", "purchases", "profiles"), generated, strict=True))
        inputs: dict[str, list[dict | str]] = {}
        for name in names:
            records: list[dict | str] = []
            for i, event in enumerate(streams[name]):
                record = join_record(event) | {"user_id": USERS[int(event["user_id"][1:])]}
                if i % 4 == 0:  # a schema's field keeps its type, others take any JSON value
                    odd = rng.choice(({"sku": [1, 2.5e-7]}, None, 3, "tab\there", 1e21, 0.1 + 0.2))
                    number = odd if isinstance(odd, float) else 12
                    text = odd if isinstance(odd, str) or odd is None else "/é\u2028"
                    typed: dict[str, dict] = {
                        "clicks": {"page": text},
                        "purchases": {"amount": number, "product_id": odd},
                    }
                    record |= typed.get(name, {"tier": odd})
                if i % 6 == 0:
                    record |= {"input": "own", "profile": "own"}
                if i % 7 == 0:
                    record.pop("product_id", None)
                records.append(respelled(record) if i % 5 == 0 else record)
            inputs[f"--{name}"] = records
        return inputs

    return make


def respelled(record: dict) -> str:
    members = [
        f"{json.dumps(key)}:{format(value, 'E') if isinstance(value, float) else json.dumps(value)}"
        for key, value in record.items()
    ]
    return "{" + ",".join([*members, '"dup":1', '"dup":{"b":[]}']) + "}"


def every_route_taken(written: dict[str, list[str]]) -> bool:
    errors = " ".join(written["errors"])
    reasons = ("is missing", "is null", 'must not be negative, got -3"', 'got -0.25"', 'got -1e-05"')
    return all(reason in errors for reason in reasons) and all(written[f"tenant-{t}"] for t in ("acme", "globex"))


def matched(output: str, *texts: str) -> Callable[[dict[str, list[str]]], bool]:
    """Whether ``output`` has records, and each of ``texts`` in one of them."""

    def check(written: dict[str, list[str]]) -> bool:
        return bool(written[output]) and all(any(text in line for line in written[output]) for text in texts)

    check.__name__ = f"{output} with {texts}"
    return check


def global_triggers_input() -> list[dict | str]:
    """Deadlines that move earlier and fire on arrival, escaped and non-ASCII user ids (the
    firings are written with json.dumps' default ensure_ascii), floats, missing values."""
    rng = random.Random(12)
    records: list[dict | str] = []
    for record in global_triggers_stream(12, n=600, users=len(USERS)):
        record = record | {"user_id": USERS[int(record["user_id"][1:])]}
        if "value" in record:
            record["value"] = rng.choice([*VALUES[:-1], record["value"]])
        records.append(record)
    return records


def late_input_in_firings(written: dict[str, list[str]]) -> bool:
    """global_triggers has no late output: its events are all in firings, of every kind."""
    fired = [json.loads(line) for line in written["firings"]]
    return {f["trigger"] for f in fired} == {"time", "end_of_input"} and any("\\u00eb" in w for w in written["firings"])


def inactivity_timeouts_input() -> list[dict | str]:
    """Gaps of exactly the timeout and around it, equal times, escaped user ids, late events
    (some respelled: they are echoed)."""
    records: list[dict | str] = []
    for i, record in enumerate(timeout_records(timeouts_stream(11, users=len(USERS), per_user=25, late_fraction=0.1))):
        record = record | {"user_id": USERS[int(record["user_id"][1:])], "n": i, "v": 0.1 + 0.2}
        records.append(respelled(record) if i % 5 == 0 else record)
    return records


def sessions_refired(written: dict[str, list[str]]) -> bool:
    fired = [json.loads(line) for line in written["sessions"]]
    return sessions.ACCOUNTING[0].of(fired) < sum(s["event_count"] for s in fired)


def late_updates_in_exponent_notation(written: dict[str, list[str]]) -> bool:
    fired = [json.loads(line) for line in written["windows"]]
    return any(w["late_update"] for w in fired) and any("e-" in w or "e+" in w for w in written["windows"])


def sums_in_exponent_notation(written: dict[str, list[str]]) -> bool:
    return any("e-" in w or "e+" in w for w in written["windows"])


#: Per job with a fast build: its input, its options, and what the input must make it write.
CASES: dict[
    str, tuple[Callable[[], Mapping[str, Sequence[dict | str]]], list[str], Callable[[dict[str, list[str]]], bool]]
] = {
    "event_router": (
        lambda: {"--input": event_router_input()},
        ["--tenants", "acme,globex", "--out-of-orderness", "2s"],
        every_route_taken,
    ),
    "window_join": (
        join_inputs("clicks", "purchases"),
        ["--window", "5s", "--out-of-orderness", "2s"],
        matched("matches", '"dup": {"b": []}', '"product_id": {"sku": [1, 2.5e-07]}'),
    ),
    "interval_join": (
        join_inputs("clicks", "purchases"),
        ["--lower=-1s", "--upper", "3s", "--out-of-orderness", "2s"],
        matched("conversions", '"product_id": {"sku": [1, 2.5e-07]}', '"page": null', '"product_id": null', "1e+21"),
    ),
    "temporal_join": (
        join_inputs("purchases", "profiles"),
        ["--out-of-orderness", "2s"],
        matched("enriched", '"profile": null', '"tier": {"sku"', '"input": "own"'),
    ),
    "global_triggers": (
        lambda: {"--input": global_triggers_input()},
        ["--trigger", "time:6s", "--out-of-orderness", "2s"],
        late_input_in_firings,
    ),
    "inactivity_timeouts": (
        lambda: {"--input": inactivity_timeouts_input()},
        ["--timeout", "3s", "--out-of-orderness", "2s"],
        matched("timeouts", '"inactive_s": 3.0', '"user_id": "tab\\there"'),
    ),
    "sessions": (
        lambda: {"--input": sessions_input()},
        ["--gap", "3s", "--out-of-orderness", "2s", "--allowed-lateness", "10s"],
        sessions_refired,
    ),
    "late_data": (
        lambda: {"--input": late_data_input()},
        ["--window", "10s", "--out-of-orderness", "2s", "--allowed-lateness", "5s"],
        late_updates_in_exponent_notation,
    ),
    "moving_average": (
        lambda: {"--input": moving_average_input()},
        ["--size", "10s", "--slide", "5s", "--key-field", "user_id"],
        sums_in_exponent_notation,
    ),
}
WITH_FAST_BUILDS = sorted(
    (m.name, build)
    for m in pkgutil.iter_modules(jobs.__path__)
    for build in importlib.import_module(f"jobs.{m.name}").JOB.fast_builds
)


def test_every_job_with_a_fast_build_has_a_case():
    assert sorted({name for name, _ in WITH_FAST_BUILDS}) == sorted(CASES)


def written(name: str, build: str, argv: list[str], folder: Path) -> dict[str, list[str]]:
    """``python -m jobs.<name> ARGV --build BUILD --parallelism 2 --sink file``: each output's lines."""
    out = folder / build
    job = importlib.import_module(f"jobs.{name}").JOB
    assert (
        run_command(job, [*argv, "--build", build, "--parallelism", "2", "--sink", "file", "--output", str(out)]) == 0
    )
    return {
        # Lines end at "\n" only: str.splitlines() would also split at a U+2028 inside a record.
        output.name: sorted(line for part in output.glob("*.jsonl") for line in part.read_text().split("\n") if line)
        for output in out.iterdir()
        if output.is_dir()
    }


@pytest.mark.parametrize("name, build", WITH_FAST_BUILDS)
def test_a_fast_build_writes_the_teaching_builds_bytes(name, build, tmp_path):
    make_inputs, options, exercised = CASES[name]
    argv = list(options)
    for option, records in make_inputs().items():
        source = tmp_path / f"{option.strip('-')}.jsonl"
        source.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
        argv += [option, str(source)]
    teaching = written(name, TEACHING_BUILD, argv, tmp_path)
    records = [json.loads(line) for output, lines in teaching.items() if output != "late" for line in lines]
    # The input did its job: late records (where the job has a late output), and text json.dumps
    # escapes in the outputs.
    assert teaching.get("late", ["no late output"]) and any(
        "\\t" in line for lines in teaching.values() for line in lines
    )
    assert records and exercised(teaching), f"the input does not exercise {name} ({exercised.__name__})"
    assert written(name, build, argv, tmp_path) == teaching
