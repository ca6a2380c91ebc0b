"""The command line as users type it: `python -m jobs.<name> ...` in a fresh process."""

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs import interval_join, sessions
from runner.cli import parse
from runner.outputs import read_file_outputs
from samples.generate import BASE_MS
from tests.harness import canonical, run_job
from tools import loadgen
from tools.processes import child_env
from udfs.timeutil import format_time

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*argv, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", *argv], cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=timeout
    )


def read_output(directory: Path, output: str) -> list[dict]:
    return read_file_outputs(directory, [output])[output]


def test_sessions_file_sink_writes_every_output_with_spec_fields(tmp_path):
    def ev(user, second, action):
        return json.dumps({"user_id": user, "action": action, "timestamp": format_time(BASE_MS + second * 1000)})

    lines = [
        ev("Alice", 0, "login"),
        ev("Alice", 1, "view"),
        ev("Alice", 9, "search"),
        ev("Alice", 0, "click"),  # its own window [0 s, 3 s) ended before the watermark (9 - 5 = 4 s): late
        "{broken",
        ev("Alice", 10, "logout"),
    ]
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    out.mkdir()  # an existing empty folder is fine

    result = run_cli("jobs.sessions", "--input", str(source), "--gap", "3s", "--sink", "file", "--output", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "accounted for   6 of 6 input records: nothing lost" in result.stderr
    assert " INFO " not in result.stderr  # no third-party INFO noise (Beam, kafka-python, py4j)
    assert "\r" not in result.stderr and "elapsed" not in result.stderr  # progress is for terminals only

    sessions = read_output(out, "sessions")
    assert sorted(s["event_count"] for s in sessions) == [2, 2]
    assert all(
        set(s) == {"user_id", "session_start", "session_end", "window_end", "duration_s", "event_count", "actions"}
        for s in sessions
    )
    assert read_output(out, "late") == [json.loads(lines[3])]
    assert read_output(out, "errors") == [
        {
            "job": "sessions",
            "error": "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
            "raw": "{broken",
        }
    ]


def test_bad_option_fails_fast_with_one_line():
    result = run_cli("jobs.sessions", "--gap", "3 parsecs", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "python -m jobs.sessions: error: argument --gap: invalid duration '3 parsecs': "
        "write a whole number and a unit, e.g. 500ms, 3s, 5min, 1h"
    ]
    assert result.stdout == ""


def test_missing_input_fails_fast_with_one_line(tmp_path):
    result = run_cli("jobs.sessions", "--input", str(tmp_path / "nope.jsonl"), timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"python -m jobs.sessions: error: input not found: {tmp_path / 'nope.jsonl'}"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["jobs.sessions", "--gap", "0s"], "argument --gap: must be longer than 0ms, got '0s'"),
        (["jobs.window_join", "--window", "0ms"], "argument --window: must be longer than 0ms, got '0ms'"),
        (["jobs.moving_average", "--slide", "0s"], "argument --slide: must be longer than 0ms, got '0s'"),
        (
            ["jobs.global_triggers", "--trigger", "time:0s"],
            "argument --trigger: invalid trigger 'time:0s': write count:N (N >= 1), time:DURATION (e.g. time:10s) "
            "or condition:ACTION",
        ),
        (
            ["jobs.late_data", "--checkpoint-interval", "5ms"],
            "argument --checkpoint-interval: must be at least 10ms (Flink's minimum), got '5ms'",
        ),
        (
            ["jobs.inactivity_timeouts", "--transaction-timeout", "0s"],
            "argument --transaction-timeout: must be longer than 0ms, got '0s'",
        ),
    ],
)
def test_a_duration_flink_refuses_fails_fast_with_one_line(argv, message):
    result = run_cli(*argv, timeout=60)
    assert (result.returncode, result.stderr.splitlines(), result.stdout) == (
        2,
        [f"python -m {argv[0]}: error: {message}"],
        "",
    )


def test_a_non_empty_output_folder_is_refused_before_anything_runs(tmp_path):
    out = tmp_path / "out"
    (out / "sessions").mkdir(parents=True)
    (out / "sessions" / "part-0.jsonl").write_text("{}\n")
    result = run_cli("jobs.sessions", "--sink", "file", "--output", str(out), timeout=60)
    assert (result.returncode, result.stderr.splitlines()) == (
        2,
        [
            f"python -m jobs.sessions: error: --output {out} is not empty: the outputs of two runs would mix; "
            "choose a new folder or empty it"
        ],
    )
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["sessions", "sessions/part-0.jsonl"]


def test_output_without_sink_writes_files(tmp_path):
    source = tmp_path / "events.jsonl"
    source.write_text(
        "".join(f"{line}\n" for line in (ROOT / "samples" / "activity.jsonl").read_text().splitlines()[:30])
    )
    out = tmp_path / "out"
    result = run_cli("jobs.sessions", "--input", str(source), "--gap", "3s", "--output", str(out))
    assert (result.returncode, result.stdout) == (0, ""), result.stderr[-3000:]  # nothing printed: --sink file
    assert result.stderr.strip().splitlines()[-1] == "  accounted for   30 of 30 input records: nothing lost"
    written = {name: read_output(out, name) for name in ("sessions", "late", "errors")}
    assert sum(s["event_count"] for s in written["sessions"]) + len(written["late"]) + len(written["errors"]) == 30


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["jobs.sessions", "--sink", "print", "--output", "OUT"],
            "--output DIR is for --sink file; --sink print writes no files, so it would be ignored",
        ),
        (
            ["jobs.sessions", "--output", "OUT", "--sink", "kafka"],
            "--output DIR is for --sink file; --sink kafka writes no files, so it would be ignored",
        ),
        (
            ["jobs.late_data", "--allowed-lateness", "-1s"],
            "argument --allowed-lateness: negative durations are not allowed, got '-1s'",
        ),
        (
            ["jobs.late_data", "--allowed-lateness=-1s"],
            "argument --allowed-lateness: negative durations are not allowed, got '-1s'",
        ),
        (
            ["jobs.window_join", "--input", "samples/clicks.jsonl"],
            "unrecognized arguments: --input samples/clicks.jsonl (window_join reads --clicks and --purchases)",
        ),
    ],
)
def test_a_command_line_mistake_is_one_line_that_says_what_to_do(tmp_path, argv, message):
    out = tmp_path / "out"
    result = run_cli(*(str(out) if arg == "OUT" else arg for arg in argv), timeout=60)
    assert (result.returncode, result.stderr.splitlines(), result.stdout) == (
        2,
        [f"python -m {argv[0]}: error: {message}"],
        "",
    )
    assert not out.exists()


def test_the_wrapper_runs_a_job_on_the_bundled_sample_without_input(flink_cluster, tmp_path):
    # scripts/flink-cluster run jobs/sessions.py (README, the third way): the client imports
    # runner/cli.py from Flink's temporary copy of the shipped zip, yet the default input is the
    # checkout's sample.
    wrapper = [str(ROOT / "scripts" / "flink-cluster"), "--home", str(flink_cluster.home), "run"]
    run = subprocess.run(
        [*wrapper, "jobs/sessions.py", "--gap", "3s", "--sink", "file", "--output", str(tmp_path / "out")],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stderr.splitlines()[-1].startswith("FINISHED"), run.stderr[-3000:]
    sample = (ROOT / "samples" / "activity.jsonl").read_text().splitlines()
    written = read_file_outputs(tmp_path / "out", ["sessions", "late", "errors"])
    expected = run_job(sessions.JOB, ["--gap", "3s"], events=sample)
    assert {k: canonical(v) for k, v in written.items()} == {k: canonical(v) for k, v in expected.items()}


def test_an_unreachable_broker_is_one_line_on_stderr():
    result = run_cli("jobs.sessions", "--source", "kafka", "--bootstrap-servers", "127.0.0.1:1", timeout=60)
    assert (result.returncode, result.stderr.splitlines()) == (
        2,
        ["cannot reach Kafka at 127.0.0.1:1: KafkaTimeoutError: Unable to bootstrap from 127.0.0.1:1"],
    )


def test_signed_durations_in_both_spellings():
    assert [
        (c.options.lower_ms, c.options.upper_ms)
        for c in (
            parse(interval_join.JOB, ["--lower", "-30s", "--upper", "-5s"]),
            parse(interval_join.JOB, ["--lower=-30s", "--upper=-5s"]),
        )
    ] == [(-30_000, -5_000)] * 2
    with pytest.raises(SystemExit) as raised:
        parse(interval_join.JOB, ["--lower", "-30x"])
    assert raised.value.message == (
        "python -m jobs.interval_join: error: argument --lower: invalid duration '-30x': "
        "write a whole number and a unit, optionally signed, e.g. -30s, 500ms, 5min"
    )


def test_a_job_that_always_fails_ends_with_its_root_cause_on_one_line(tmp_path):
    # With checkpoints Flink would restart it forever; a local run gives up after its bounded
    # restarts (runner/environment.py: LOCAL_RESTARTS, here 0.1 s apart: tests/flaky_job.py) and
    # says why in one line, exit 1.
    from tests.flaky_job import ALWAYS

    result = run_cli(
        "tests.flaky_job",
        "--job",
        "sessions",
        "--checkpoints",
        str(tmp_path / "ck"),
        "--failure-marker",
        str(tmp_path / "marker"),
        "--failure-mode",
        "always",
        "--checkpoint-interval",
        "1s",
        "--sink",
        "file",
        "--output",
        str(tmp_path / "out"),
    )
    assert result.returncode == 1, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert (
        last == f"python -m jobs.sessions: job failed: pemja.core.PythonException: <class 'RuntimeError'>: {ALWAYS}"
    ), last
    assert "Traceback" not in result.stderr and "at org.apache" not in result.stderr


def run_on_a_terminal(argv, interrupt_when: str | None = None, timeout: float = 300) -> tuple[int, str]:
    """Run ``python -m ARGV`` with stderr on a pseudo-terminal, as a person would; with
    ``interrupt_when`` (a regular expression), press Ctrl-C (SIGINT) once the terminal shows a
    match. The exit code and what the terminal showed."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=terminal,
    )
    os.close(terminal)
    shown, interrupted, deadline = b"", False, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(controller, 4096)
                except OSError:  # the terminal closed: the process has ended
                    break
                if not chunk:
                    break
                shown += chunk
            if interrupt_when and not interrupted and re.search(interrupt_when, shown.decode(errors="replace")):
                process.send_signal(signal.SIGINT)
                interrupted = True
            if not ready and process.poll() is not None:
                break
        return process.wait(timeout=60), shown.decode(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)


def test_on_a_terminal_a_file_run_shows_progress_to_the_end(tmp_path):
    code, shown = run_on_a_terminal(["jobs.sessions", "--sink", "file", "--output", str(tmp_path / "out")])
    assert code == 0, shown
    assert "378 of 378 records (100%)" in shown and "elapsed" in shown
    assert "accounted for   378 of 378 input records: nothing lost" in shown


def test_ctrl_c_cancels_the_job_with_one_line(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(loadgen.generate("activity", 100_000, seed=5)) + "\n")
    argv = ["jobs.sessions", "--input", str(events), "--sink", "file", "--output", str(tmp_path / "out")]
    code, shown = run_on_a_terminal(argv, interrupt_when=r"[1-9][\d,]* of [\d,]+ records")  # it is running
    assert code == 130, shown
    assert shown.rstrip().splitlines()[-1] == "python -m jobs.sessions: interrupted: the job was cancelled"
    assert "Traceback" not in shown and "py4j" not in shown
