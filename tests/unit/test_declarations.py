"""Every job's declaration and command line, the option types, accounting as data, and the
runner's pure helpers: all without a JVM."""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import pytest

import jobs
from runner.cli import checkpoint_interval, parse, run_command
from runner.errors import OptionError
from runner.run import root_cause
from runner.sources import count_input_records, files_of
from udfs.eventtime import interval_literal
from udfs.job import (
    EVERY_OUTPUT,
    LATE_AND_ERRORS,
    Count,
    Job,
    NoOptions,
    duration,
    one_of,
    positive_duration,
    positive_int,
    signed_duration,
)
from udfs.windows import FieldKey, key_value, window_start

JOBS = sorted(m.name for m in pkgutil.iter_modules(jobs.__path__))


@pytest.mark.parametrize("name", JOBS)
def test_every_job_is_a_declaration_with_defaults_that_parse(name):
    job = importlib.import_module(f"jobs.{name}").JOB
    assert isinstance(job, Job) and job.name == name
    assert job.description and "\n" not in job.description
    config = parse(job, [])
    assert config.job == name and isinstance(config.options, job.options)
    assert set(config.source.paths) == {spec.name for spec in job.inputs}
    assert all(path.is_file() for path in config.source.paths.values())  # the bundled samples
    assert any(count.output in ("errors", EVERY_OUTPUT) for count in job.accounting)


@pytest.mark.parametrize(
    "parse_type, text, value",
    [
        (duration, "0s", 0),
        (duration, "3s", 3_000),
        (positive_duration, "1ms", 1),
        (signed_duration, "-30s", -30_000),
        (signed_duration, "1h", 3_600_000),
        (positive_int, "4", 4),
        (checkpoint_interval, "10ms", 10),
        (one_of("python", "jvm"), "jvm", "jvm"),
    ],
)
def test_option_types(parse_type, text, value):
    assert parse_type(text) == value


@pytest.mark.parametrize(
    "parse_type, text, reason",
    [
        (duration, "3 parsecs", "invalid duration"),
        (positive_duration, "0s", "must be longer than 0ms"),
        (signed_duration, "-x", "optionally signed"),
        (positive_int, "0", "expected a whole number >= 1"),
        (positive_int, "two", "expected a whole number >= 1"),
        (checkpoint_interval, "5ms", "at least 10ms"),
        (one_of("python", "jvm"), "JVM", "expected one of python, jvm, got 'JVM'"),
    ],
)
def test_option_types_reject_with_a_reason(parse_type, text, reason):
    with pytest.raises(argparse.ArgumentTypeError, match=reason):
        parse_type(text)


@pytest.mark.parametrize(
    "name, argv, message",
    [
        ("moving_average", ["--size", "5s", "--slide", "10s"], "--slide must be at most --size"),
        ("interval_join", ["--lower", "2s", "--upper", "1s"], "--lower must not be after --upper"),
        ("sessions", ["--sink", "kafka", "--delivery-guarantee", "exactly-once"], "set --checkpoint-interval"),
        (
            "sessions",
            ["--checkpoint-interval", "1min", "--delivery-guarantee", "exactly-once", "--transaction-timeout", "30s"],
            "--transaction-timeout must be longer",
        ),
        ("window_join", ["--window", "0s"], "must be longer than 0ms"),
    ],
)
def test_checks_across_options_are_one_line(name, argv, message):
    with pytest.raises(OptionError) as raised:
        parse(importlib.import_module(f"jobs.{name}").JOB, argv)
    assert raised.value.message.startswith(f"python -m jobs.{name}: error: ") and message in raised.value.message
    assert "\n" not in raised.value.message and raised.value.code == 2


#: What ``--build jvm`` cannot compute exactly as the Python build does.
JVM_WINDOW_REFUSALS = [
    (["--size", "7s", "--slide", "3s"], "--build jvm needs --size to be a whole multiple of --slide (SQL's HOP)"),
    (["--allowed-lateness", "5s"], "--build jvm takes no --allowed-lateness (SQL windows fire once)"),
    (
        ["--key-field", "region"],
        "--build jvm keys by user_id, action, tenant, page only, not 'region' (--build python keys by any field)",
    ),
    (
        ["--key-field", "value"],
        "--build jvm keys by user_id, action, tenant, page only, not 'value' (--build python keys by any field)",
    ),
]


@pytest.mark.parametrize("spelling", ["--build", "--window-operator"])
@pytest.mark.parametrize("argv, message", JVM_WINDOW_REFUSALS)
def test_a_fast_build_refuses_what_it_cannot_match_exit_2_one_line(argv, message, spelling, capsys):
    from jobs import moving_average

    assert run_command(moving_average.JOB, [*argv, spelling, "jvm"], build=_never_built) == 2
    assert capsys.readouterr().err.splitlines() == [f"python -m jobs.moving_average: error: {message}"]
    # the teaching build takes each of them
    assert parse(moving_average.JOB, argv).build == "python"


def _never_built(*_):
    raise AssertionError("a refused command line must not build a job")


@pytest.mark.parametrize("name", JOBS)
def test_the_runner_offers_build_for_the_jobs_that_declare_more_than_one(name):
    job = importlib.import_module(f"jobs.{name}").JOB
    assert parse(job, []).build == "python"
    if not job.fast_builds:
        with pytest.raises(OptionError) as raised:
            parse(job, ["--build", "jvm"])
        assert "unrecognized arguments: --build jvm" in raised.value.message
        return
    assert sorted(job.fast_builds) == ["jvm"]
    for spelling in ("--build", "--window-operator"):
        assert parse(job, [spelling, "jvm"]).build == "jvm"
    with pytest.raises(OptionError) as raised:
        parse(job, ["--build", "sql"])
    assert (
        raised.value.message
        == f"python -m jobs.{name}: error: argument --build/--window-operator: expected one of python, jvm, got 'sql'"
    )


def test_signed_values_attach_to_their_option():
    from jobs import interval_join

    assert parse(interval_join.JOB, ["--lower", "-30s", "--upper", "-5s"]).options.lower_ms == -30_000


def test_count_of_records_fields_and_the_largest_per_slot():
    windows = [{"k": "a", "n": 2}, {"k": "a", "n": 3}, {"k": "b", "n": 1}]
    assert Count("windows").of(windows) == 3
    assert Count("windows", "n").of(windows) == 6
    assert Count("windows", "n", per=("k",)).of(windows) == 4  # a re-fired window counts once


def test_count_of_overlapping_firings_of_a_merging_window():
    # Bob's session fired (2 events), a late event re-fired it (3), and another late event joined
    # it to his next session (1 + 3 + 1 = 5 in all); Ann's session is on its own.
    firings = [
        {"u": "bob", "first": "10:00", "last": "10:02", "n": 2},
        {"u": "bob", "first": "10:20", "last": "10:20", "n": 1},
        {"u": "ann", "first": "10:01", "last": "10:01", "n": 1},
        {"u": "bob", "first": "09:59", "last": "10:02", "n": 3},
        {"u": "bob", "first": "09:59", "last": "10:20", "n": 5},
        {"u": "bob", "first": "11:00", "last": "11:05", "n": 2},
    ]
    assert Count("s", "n", per=("u",), span=("first", "last")).of(firings) == 5 + 2 + 1
    assert Count("s", "n", per=("u",), span=("first", "last")).of(firings[:3]) == 2 + 1 + 1


def test_job_accounted_every_output():
    job = Job(
        name="x",
        doc="doc",
        inputs=(),
        options=NoOptions,
        build=lambda t_env, streams, options: {},
        accounting=(Count(EVERY_OUTPUT),),
    )
    assert job.accounted({"valid": [{}] * 3, "tenant-acme": [{}], "errors": [{}] * 2}) == 6
    counted = Job(
        name="y",
        doc="doc",
        inputs=(),
        options=NoOptions,
        build=lambda *_: {},
        accounting=(Count("sessions", "event_count"), *LATE_AND_ERRORS),
    )
    assert counted.accounted({"sessions": [{"event_count": 4}], "late": [{}], "errors": []}) == 5


def test_field_key_reads_schema_fields_and_any_other_field():
    from tests.unit.test_job_functions import event

    schema_fields = ["user_id", "action", "value", "tenant", "page"]
    assert FieldKey("user_id", schema_fields).get_key(event(user_id="Alice")) == '"Alice"'
    assert FieldKey("region", schema_fields).get_key(event(region="eu")) == '"eu"'
    assert FieldKey("region", schema_fields).get_key(event()) == "null"
    assert FieldKey(None, schema_fields).get_key(event()) == "null"
    assert key_value('"eu"') == "eu" and key_value("3.0") == 3.0


def test_window_start_and_interval_literals():
    assert window_start(12_345, 5_000) == 10_000
    assert interval_literal(1_500) == "INTERVAL '1.500' SECOND(3)"
    assert interval_literal(3_600_000) == "INTERVAL '0 01:00:00.000' DAY TO SECOND(3)"


def test_root_cause_is_the_innermost_caused_by():
    trace = (
        "org.apache.flink.runtime.JobException: Recovery is suppressed\n\tat x\nCaused by: java.lang.X: outer\n"
        "\tat y\nCaused by: pemja.core.PythonException: <class 'RuntimeError'>: boom\n\tat z"
    )
    assert root_cause(trace) == "pemja.core.PythonException: <class 'RuntimeError'>: boom"
    assert root_cause("only a line") == "only a line" and root_cause("") == "(no message)"


def test_files_of_a_folder_and_the_records_they_hold(tmp_path):
    (tmp_path / "a.jsonl").write_text("1\n2\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.jsonl").write_text("3\n")
    (tmp_path / ".hidden").write_text("x\n")
    (tmp_path / "_SUCCESS").write_text("")
    assert files_of(tmp_path) == [tmp_path / "a.jsonl", tmp_path / "sub" / "b.jsonl"]
    from jobs import sessions

    config = parse(sessions.JOB, ["--input", str(tmp_path)])
    assert count_input_records(config.source) == 3
