"""Unit tests of the shared pieces that need no Flink: time, durations, event parsing, options."""

import json

import pytest

from runner.cli import parse
from runner.errors import OptionError
from udfs.events import ACTIVITY, CLICKS, PURCHASES, InvalidRecord
from udfs.timeutil import format_duration, format_time, parse_duration, parse_event_time

T = 1_795_514_400_000  # 2026-11-24T10:00:00Z


@pytest.mark.parametrize(
    "text, ms",
    [
        ("500ms", 500),
        ("3s", 3_000),
        ("5min", 300_000),
        ("1h", 3_600_000),
        ("2d", 172_800_000),
        (" 10s ", 10_000),
        ("0s", 0),
    ],
)
def test_parse_duration(text, ms):
    assert parse_duration(text) == ms
    assert parse_duration(format_duration(ms)) == ms


@pytest.mark.parametrize("text", ["3 parsecs", "3", "-1s", "1.5s", "s", "", "5m"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-24T10:00:00Z",
        "2026-11-24T10:00:00+00:00",
        "2026-11-24T11:00:00+01:00",
        "2026-11-24T10:00:00",
        "2026-11-24T10:00:00.000",
        T,
    ],
)
def test_event_time_spellings(value):
    assert parse_event_time(value) == T


def test_event_time_keeps_milliseconds():
    assert parse_event_time("2026-11-24T10:00:00.123456Z") == T + 123
    assert format_time(T + 2_007) == "2026-11-24T10:00:02.007Z"


@pytest.mark.parametrize(
    "value, reason",
    [
        ("noon", "is not an ISO-8601 time"),
        (True, "got boolean"),
        (1.5e12, "got float"),
        (None, "timestamp is null"),
        (-5, "outside 1970-01-01 .. 9999-12-31"),
        (10**20, "outside 1970-01-01 .. 9999-12-31"),
        ("1795514400000", "is not an ISO-8601 time"),
    ],
)
def test_event_time_rejects_with_reason(value, reason):
    with pytest.raises(ValueError, match=reason):
        parse_event_time(value)


def test_parse_keeps_raw_and_types():
    text = json.dumps({"user_id": "a", "timestamp": T, "value": 3, "extra": [1]})
    row = dict(zip(ACTIVITY.names, ACTIVITY.parse(text), strict=False))
    assert row == {"user_id": "a", "action": None, "value": 3.0, "tenant": None, "page": None, "ts": T, "raw": text}


@pytest.mark.parametrize(
    "schema, record, reason",
    [
        (CLICKS, "[]", "expected a JSON object, got array"),
        (CLICKS, '"text"', "expected a JSON object, got string"),
        (CLICKS, "{", "not valid JSON"),
        (CLICKS, "   ", "empty record"),
        (CLICKS, '{"user_id": "a", "timestamp": 1, "page": 7}', "field 'page' must be a string, got number"),
        (CLICKS, '{"user_id": null, "timestamp": 1}', "required field 'user_id' is null"),
        (PURCHASES, '{"user_id": "a", "timestamp": 1}', "required field 'amount' is missing"),
        (PURCHASES, '{"user_id": "a", "timestamp": 1, "amount": "9.5"}', "field 'amount' must be a number, got string"),
        (PURCHASES, '{"user_id": "a", "timestamp": 1, "amount": true}', "field 'amount' must be a number, got boolean"),
        (PURCHASES, '{"user_id": "a", "timestamp": 1, "amount": NaN}', "must be a finite number"),
        (ACTIVITY, '{"user_id": "a", "timestamp": "2026-13-01T00:00:00Z"}', "is not an ISO-8601 time"),
        (ACTIVITY, '{"user_id": "caf\ufffd", "timestamp": 1}', "not valid UTF-8"),
        (ACTIVITY, "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_invalid_records_have_reasons(schema, record, reason):
    with pytest.raises(InvalidRecord, match=reason):
        schema.parse(record)


def test_options_defaults_and_errors(tmp_path):
    from jobs import sessions

    config = parse(sessions.JOB, [])
    assert (
        config.options.gap_ms,
        config.event_time.out_of_orderness_ms,
        config.source.kind,
        config.sink.kind,
        config.execution.parallelism,
    ) == (300_000, 5_000, "file", "print", 1)
    assert str(config.source.paths["events"]).endswith("samples/activity.jsonl")
    assert config.execution.metrics_port is None  # no endpoint unless asked for
    assert parse(sessions.JOB, ["--metrics-port", "9249"]).execution.metrics_port == 9249
    for argv, message in [
        (["--gap", "3 parsecs"], "argument --gap: invalid duration '3 parsecs'"),
        (["--input", str(tmp_path / "missing.jsonl")], "input not found"),
        (["--input", str(tmp_path)], "input folder is empty"),
        (["--sink", "file"], "--sink file needs --output DIR"),
        (["--parallelism", "0"], "expected a whole number >= 1"),
        (["--sink", "mail"], "invalid choice: 'mail'"),
        (["--metrics-port", "0"], "argument --metrics-port: expected a port number 1-65535, got '0'"),
        (["--metrics-port", "http"], "expected a port number 1-65535, got 'http'"),
    ]:
        with pytest.raises(OptionError) as error:
            parse(sessions.JOB, argv)
        assert message in error.value.message and "\n" not in error.value.message
