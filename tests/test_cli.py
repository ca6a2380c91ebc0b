"""The command line as users type it: `python -m jobs.<name> ...` in a fresh process."""

import json
import subprocess
import sys
from pathlib import Path

from samples.generate import BASE_MS
from tests.harness import child_env
from udfs.timeutil import format_time

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*argv, timeout=180):
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, env=child_env(), capture_output=True, text=True,
                          timeout=timeout)


def read_output(directory: Path, output: str) -> list[dict]:
    files = [p for p in (directory / output).iterdir() if p.is_file() and not p.name.startswith(".")]
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def test_sessions_file_sink_writes_every_output_with_spec_fields(tmp_path):
    def ev(user, second, action):
        return json.dumps({"user_id": user, "action": action, "timestamp": format_time(BASE_MS + second * 1000)})

    lines = [ev("Alice", 0, "login"), ev("Alice", 1, "view"), ev("Alice", 9, "search"),
             ev("Alice", 0, "click"),  # its own window [0 s, 3 s) ended before the watermark (9 - 5 = 4 s): late
             "{broken", ev("Alice", 10, "logout")]
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"

    result = run_cli("jobs.sessions", "--input", str(source), "--gap", "3s", "--sink", "file", "--output", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "accounted for   6 of 6 input records: nothing lost" in result.stderr

    sessions = read_output(out, "sessions")
    assert sorted(s["event_count"] for s in sessions) == [2, 2]
    assert all(set(s) == {"user_id", "session_start", "session_end", "window_end", "duration_s", "event_count", "actions"}
               for s in sessions)
    assert read_output(out, "late") == [json.loads(lines[3])]
    assert read_output(out, "errors") == [
        {"job": "sessions", "error": "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
         "raw": "{broken"}]


def test_bad_option_fails_fast_with_one_line():
    result = run_cli("jobs.sessions", "--gap", "3 parsecs", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "python -m jobs.sessions: error: argument --gap: invalid duration '3 parsecs': "
        "write a whole number and a unit, e.g. 500ms, 3s, 5min, 1h"]
    assert result.stdout == ""


def test_missing_input_fails_fast_with_one_line(tmp_path):
    result = run_cli("jobs.sessions", "--input", str(tmp_path / "nope.jsonl"), timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"python -m jobs.sessions: error: input not found: {tmp_path / 'nope.jsonl'}"
