"""Adversarial input: the router, run as a user runs it (``python -m jobs.event_router`` on a file
of raw bytes, file sink), must not crash, must give every bad record a clear reason in ``errors``,
and must account for every line. The same input through inactivity_timeouts must not crash either."""

import json
import re

import pytest

from jobs import inactivity_timeouts
from samples.generate import BASE_MS
from tests.harness import run_in_a_process, run_job
from udfs.timeutil import format_time

T = format_time(BASE_MS)
MB = 1 << 20


def obj(body: str) -> bytes:
    return ("{" + body + "}").encode()


#: (line as bytes, output it must land in, reason for errors)
CASES = [
    (obj(f'"user_id": "a", "value": 1, "timestamp": "{T}"'), "valid", None),
    # truncated JSON
    (
        b'{"user_id": "a", "value": 1, "timestamp": "2026-11-24T10:00',
        "errors",
        "not valid JSON: Unterminated string starting at at line 1 column 43",
    ),
    (b'{"user_id": "a", "value": 1', "errors", "not valid JSON: Expecting ',' delimiter at line 1 column 28"),
    # invalid UTF-8: a Latin-1 byte, a UTF-16 byte-order mark, an overlong '/', an encoded surrogate
    (obj(f'"user_id": "caf@", "value": 1, "timestamp": "{T}"').replace(b"@", b"\xe9"), "errors", "not valid UTF-8"),
    (b"\xff\xfe{}", "errors", "not valid UTF-8"),
    (obj(f'"user_id": "a@", "timestamp": "{T}"').replace(b"@", b"\xc0\xaf"), "errors", "not valid UTF-8"),
    (obj(f'"user_id": "@", "timestamp": "{T}"').replace(b"@", b"\xed\xa0\x80"), "errors", "not valid UTF-8"),
    # valid JSON that is not Unicode
    (
        obj(f'"user_id": "\\ud800", "value": 1, "timestamp": "{T}"'),
        "errors",
        "not valid Unicode: a string escapes a lone surrogate (\\uD800-\\uDFFF)",
    ),
    # numbers as strings
    (obj(f'"user_id": "a", "value": "12", "timestamp": "{T}"'), "errors", "field 'value' must be a number, got string"),
    (
        obj(f'"user_id": "a", "value": 1, "timestamp": "{BASE_MS}"'),
        "errors",
        f"timestamp '{BASE_MS}' is not an ISO-8601 time (epoch milliseconds must be a JSON number, not a string)",
    ),
    (obj(f'"user_id": 42, "value": 1, "timestamp": "{T}"'), "errors", "field 'user_id' must be a string, got number"),
    # null fields
    (obj(f'"user_id": null, "value": 1, "timestamp": "{T}"'), "errors", "required field 'user_id' is null"),
    (obj('"user_id": "a", "value": 1, "timestamp": null'), "errors", "timestamp is null"),
    (
        obj(f'"user_id": "a", "value": null, "timestamp": "{T}"'),
        "errors",
        "field 'value' is null: the router needs a non-negative number",
    ),
    (obj(f'"user_id": "a", "value": 1, "tenant": null, "action": null, "timestamp": "{T}"'), "valid", None),
    # huge and negative timestamps and numbers
    (
        obj('"user_id": "a", "value": 1, "timestamp": 100000000000000000000'),
        "errors",
        "timestamp 100000000000000000000 is outside 1970-01-01 .. 9999-12-31",
    ),
    (
        obj('"user_id": "a", "value": 1, "timestamp": 253402300800000'),
        "errors",
        "timestamp 253402300800000 is outside 1970-01-01 .. 9999-12-31",
    ),
    (obj('"user_id": "a", "value": 1, "timestamp": -1'), "errors", "timestamp -1 is outside 1970-01-01 .. 9999-12-31"),
    (
        obj('"user_id": "a", "value": 1, "timestamp": "1969-12-31T23:59:59Z"'),
        "errors",
        "timestamp 1969-12-31T23:59:59Z is outside 1970-01-01 .. 9999-12-31",
    ),
    (
        obj('"user_id": "a", "value": 1, "timestamp": 1e400'),
        "errors",
        "timestamp must be an ISO-8601 string or integer epoch milliseconds, got float inf",
    ),
    (
        obj('"user_id": "a", "value": 1, "timestamp": "99999-01-01T00:00:00Z"'),
        "errors",
        "timestamp '99999-01-01T00:00:00Z' is not an ISO-8601 time",
    ),
    (
        obj('"user_id": "a", "value": 1, "timestamp": 1' + "0" * 5000),
        "errors",
        "not valid JSON: a number has more than 4300 digits",
    ),
    (
        obj(f'"user_id": "a", "value": 1{"0" * 400}, "timestamp": "{T}"'),
        "errors",
        "field 'value' is too large (more than 1.8e308)",
    ),
    (obj(f'"user_id": "a", "value": NaN, "timestamp": "{T}"'), "errors", "field 'value' must be a finite number"),
    (obj(f'"user_id": "a", "value": -5, "timestamp": "{T}"'), "errors", "field 'value' must not be negative, got -5"),
    # empty lines
    (b"", "errors", "empty record"),
    (b"   \t", "errors", "empty record"),
    # other shapes
    (b'"just a string"', "errors", "expected a JSON object, got string"),
    (b"[" * 100_000, "errors", "not valid JSON: nested too deeply"),
    (obj(f'"user_id": "a", "value": 2, "timestamp": "{T}"') + b"\r", "valid", None),
    # 1 MB lines: garbage, truncated, and a valid event that must come through intact
    (b"x" * MB, "errors", "not valid JSON: Expecting value at line 1 column 1"),
    (
        b'{"user_id": "a", "page": "' + b"p" * MB,
        "errors",
        "not valid JSON: Unterminated string starting at at line 1 column 26",
    ),
    (obj(f'"user_id": "a", "value": 3, "page": "{"p" * MB}", "timestamp": "{T}"'), "valid", None),
]


def raw_text(line: bytes) -> str:
    """What the job sees: the file source decodes UTF-8 with replacement characters."""
    return line.decode("utf-8", errors="replace")


def replaced(text: str) -> str:
    # Java and Python may replace a bad sequence by a different number of U+FFFD.
    return re.sub("\ufffd+", "\ufffd", text)


@pytest.fixture(scope="module")
def router_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("adversarial")
    source = tmp / "events.jsonl"
    source.write_bytes(b"\n".join(line for line, _, _ in CASES) + b"\n")
    return run_in_a_process("event_router", ["--input", str(source)], tmp / "out")


def test_the_router_survives_and_accounts_for_every_line(router_run):
    result, outputs = router_run
    assert f"accounted for   {len(CASES)} of {len(CASES)} input records: nothing lost" in result.stderr
    assert {name: len(records) for name, records in outputs.items()} == {
        "valid": sum(1 for _, output, _ in CASES if output == "valid"),
        "late": 0,
        "errors": sum(1 for _, output, _ in CASES if output == "errors"),
    }


def test_every_bad_line_has_its_reason(router_run):
    _, outputs = router_run
    got = sorted((replaced(e["raw"]), e["error"]) for e in outputs["errors"])
    assert all(e["job"] == "event_router" for e in outputs["errors"])
    assert got == sorted((replaced(raw_text(line)), reason) for line, output, reason in CASES if output == "errors")


def test_valid_lines_come_through_intact(router_run):
    _, outputs = router_run
    expected = [json.loads(raw_text(line)) for line, output, _ in CASES if output == "valid"]
    assert sorted(outputs["valid"], key=json.dumps) == sorted(expected, key=json.dumps)
    assert any(len(e.get("page", "")) == MB for e in outputs["valid"])


def test_inactivity_timeouts_survives_the_same_input():
    lines = [raw_text(line) for line, _, _ in CASES]
    out = run_job(inactivity_timeouts.JOB, [], events=lines)
    # The router's value rules do not apply here: those events are valid activity.
    router_only = ("field 'value' must not be negative", "field 'value' is null")
    assert sorted(e["error"] for e in out["errors"]) == sorted(
        reason for _, output, reason in CASES if output == "errors" and not reason.startswith(router_only)
    )
    assert inactivity_timeouts.JOB.accounted(out) == len(CASES)


@pytest.mark.parametrize(
    "text, reason",
    [
        ('{"user_id": "\\udfff", "timestamp": 1}', "not valid Unicode"),
        ('{"user_id": "a", "page": {"x": ["\\ud800"]}, "timestamp": 1}', "not valid Unicode"),  # unknown fields too
        ('{"user_id": "a", "value": 1' + "0" * 5000 + ', "timestamp": 1}', "more than 4300 digits"),
        ('{"user_id": "a", "value": -1' + "0" * 400 + ', "timestamp": 1}', "field 'value' is too large"),
    ],
)
def test_parser_rejects_what_used_to_crash_or_confuse(text, reason):
    from udfs.events import ACTIVITY, InvalidRecord

    with pytest.raises(InvalidRecord, match=reason):
        ACTIVITY.parse(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"user_id": "\\ud83d\\ude00", "timestamp": 1}',  # a surrogate PAIR is an emoji: fine
        '{"user_id": "\\\\ud800", "timestamp": 1}',  # an escaped backslash, then plain text
    ],
)
def test_parser_keeps_what_is_valid_unicode(text):
    from udfs.events import ACTIVITY

    assert ACTIVITY.parse(text)[0] in ("\U0001f600", "\\ud800")
