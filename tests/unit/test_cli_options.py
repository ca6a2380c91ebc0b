"""The shared command line's checks across options, as a user meets them: ``--output`` and the sink,
negative durations, a join given ``--input``, and where the bundled samples are found. Each bad
command line is one line on stderr and exit code 2 (``run_command``), nothing on stdout."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import pytest

import jobs
import runner.cli
from runner.cli import parse, parser_for, run_command
from runner.environment import state_backend
from udfs.job import signed_duration

JOBS = sorted(m.name for m in pkgutil.iter_modules(jobs.__path__))


def job(name: str):
    return importlib.import_module(f"jobs.{name}").JOB


def refused(capsys, name: str, argv: list[str]) -> tuple[int, list[str], str]:
    """``python -m jobs.<name> ARGV`` in this process, refused before anything runs: its exit code,
    stderr lines and stdout."""
    code = run_command(job(name), argv, build=_never_built)
    captured = capsys.readouterr()
    return code, captured.err.splitlines(), captured.out


def _never_built(*_):
    raise AssertionError("a refused command line must not build a job")


# --- --output and the sink ------------------------------------------------------------------


def test_output_without_sink_means_the_file_sink(tmp_path):
    config = parse(job("sessions"), ["--output", str(tmp_path / "out")])
    assert (config.sink.kind, config.sink.output) == ("file", tmp_path / "out")
    assert parse(job("sessions"), ["--sink", "file", "--output", str(tmp_path / "out")]).sink.kind == "file"
    assert parse(job("sessions"), []).sink.kind == "print"  # no --output: print stays the default


@pytest.mark.parametrize("sink", ["print", "kafka"])
@pytest.mark.parametrize("order", ["sink first", "output first"])
def test_output_with_a_sink_that_writes_no_files_is_refused(capsys, tmp_path, sink, order):
    argv = ["--sink", sink, "--output", str(tmp_path / "out")]
    if order == "output first":
        argv = argv[2:] + argv[:2]
    assert refused(capsys, "sessions", argv) == (
        2,
        [
            f"python -m jobs.sessions: error: --output DIR is for --sink file; --sink {sink} writes no files, "
            "so it would be ignored"
        ],
        "",
    )
    assert not (tmp_path / "out").exists()


# --- watermark alignment ------------------------------------------------------------------


def test_max_watermark_drift_reaches_the_event_time_config_for_a_kafka_source():
    config = parse(job("sessions"), ["--source", "kafka", "--max-watermark-drift", "1min"])
    assert config.event_time.max_drift_ms == 60_000
    assert parse(job("sessions"), ["--source", "kafka"]).event_time.max_drift_ms is None


def test_max_watermark_drift_is_refused_on_a_file_source(capsys):
    assert refused(capsys, "sessions", ["--max-watermark-drift", "1min"]) == (
        2,
        ["python -m jobs.sessions: error: --max-watermark-drift aligns Kafka partitions: it needs --source kafka"],
        "",
    )


# --- the state backend ----------------------------------------------------------------------


def test_state_backend_reaches_flink_with_incremental_checkpoints_on_rocksdb():
    assert parse(job("sessions"), []).execution.state_backend is None  # the cluster's, else the heap
    config = parse(job("sessions"), ["--state-backend", "rocksdb"])
    assert state_backend(config.execution.state_backend) == {
        "state.backend.type": "rocksdb",
        "execution.checkpointing.incremental": "true",
        "state.backend.rocksdb.block.blocksize": "32kb",
    }
    assert state_backend("hashmap") == {"state.backend.type": "hashmap"}
    assert state_backend(None) == {}


def test_an_unknown_state_backend_is_refused_in_one_line(capsys):
    code, err, out = refused(capsys, "sessions", ["--state-backend", "forst"])
    assert (code, out, len(err)) == (2, "", 1)
    assert err[0].endswith("argument --state-backend: invalid choice: 'forst' (choose from 'hashmap', 'rocksdb')")


# --- negative durations ---------------------------------------------------------------------


def _unsigned_duration_options() -> list[tuple[str, str]]:
    """(job, flag) of every duration option, shared and the job's own, that is not signed."""
    return [
        (name, action.option_strings[0])
        for name in JOBS
        for action in parser_for(job(name))._actions
        if action.metavar == "DURATION" and action.type is not signed_duration
    ]


UNSIGNED = _unsigned_duration_options()


def test_every_duration_option_is_checked():
    flags = {flag for _, flag in UNSIGNED}
    shared = {
        "--out-of-orderness",
        "--idleness",
        "--max-watermark-drift",
        "--checkpoint-interval",
        "--transaction-timeout",
    }
    own = {"--gap", "--size", "--slide", "--window", "--allowed-lateness", "--timeout"}
    assert flags == shared | own
    assert ("late_data", "--allowed-lateness") in UNSIGNED and ("interval_join", "--lower") not in UNSIGNED


@pytest.mark.parametrize("spelling", ["separate", "attached"])
@pytest.mark.parametrize("name, flag", UNSIGNED)
def test_a_negative_duration_is_refused_in_both_spellings(capsys, name, flag, spelling):
    argv = [flag, "-1s"] if spelling == "separate" else [f"{flag}=-1s"]
    assert refused(capsys, name, argv) == (
        2,
        [f"python -m jobs.{name}: error: argument {flag}: negative durations are not allowed, got '-1s'"],
        "",
    )


def test_a_negative_duration_by_an_abbreviated_option():
    with pytest.raises(SystemExit) as raised:
        parse(job("late_data"), ["--allowed", "-500ms"])
    assert raised.value.message == (
        "python -m jobs.late_data: error: argument --allowed-lateness: negative durations are not allowed, got '-500ms'"
    )


def test_signed_durations_stay_signed_and_negative_numbers_reach_their_option():
    config = parse(job("interval_join"), ["--lower", "-30s", "--upper=-5s"])
    assert (config.options.lower_ms, config.options.upper_ms) == (-30_000, -5_000)
    with pytest.raises(SystemExit) as raised:
        parse(job("sessions"), ["--parallelism", "-2"])
    assert (
        raised.value.message
        == "python -m jobs.sessions: error: argument --parallelism: expected a whole number >= 1, got '-2'"
    )


def test_a_value_is_attached_only_to_an_option_that_takes_one(capsys):
    # --bounded takes no value: -1s stays an argument of its own, which argparse does not know
    assert refused(capsys, "sessions", ["--bounded", "-1s"]) == (
        2,
        ["python -m jobs.sessions: error: unrecognized arguments: -1s"],
        "",
    )


# --- a join given --input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, argv, message",
    [
        (
            "window_join",
            ["--input", "clicks.jsonl"],
            "unrecognized arguments: --input clicks.jsonl (window_join reads --clicks and --purchases)",
        ),
        (
            "interval_join",
            ["--input=clicks.jsonl"],
            "unrecognized arguments: --input=clicks.jsonl (interval_join reads --clicks and --purchases)",
        ),
        (
            "temporal_join",
            ["--input", "p.jsonl", "--topic", "purchases"],
            "unrecognized arguments: --input p.jsonl --topic purchases (temporal_join reads --purchases and "
            "--profiles; the topics --purchases-topic and --profiles-topic)",
        ),
        (
            "window_join",
            ["--topic", "t"],
            "unrecognized arguments: --topic t (window_join reads the topics --clicks-topic and --purchases-topic)",
        ),
        # otherwise argparse's own line
        ("window_join", ["--bogus", "1"], "unrecognized arguments: --bogus 1"),
        ("sessions", ["--clicks", "c.jsonl"], "unrecognized arguments: --clicks c.jsonl"),
    ],
)
def test_unrecognized_arguments_name_the_job_s_inputs(capsys, name, argv, message):
    assert refused(capsys, name, argv) == (2, [f"python -m jobs.{name}: error: {message}"], "")


# --- the bundled samples --------------------------------------------------------------------


def test_the_samples_of_the_checkout_that_holds_the_job_script(tmp_path, monkeypatch):
    # Under flink run -py <checkout>/jobs/sessions.py --pyFiles <zip>, runner/cli.py is Flink's
    # temporary copy of the zip (no samples beside it); the client runs the script from the checkout.
    checkout = Path(runner.cli.__file__).resolve().parent.parent
    monkeypatch.setattr(runner.cli, "SAMPLES", tmp_path / "pyflink-jobs" / "samples")
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(checkout / "jobs" / "sessions.py"), raising=False)
    config = parse(job("window_join"), [])
    assert config.source.paths == {
        "clicks": checkout / "samples" / "clicks.jsonl",
        "purchases": checkout / "samples" / "purchases.jsonl",
    }
