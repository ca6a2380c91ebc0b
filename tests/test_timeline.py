"""``--timeline FILE.html`` on real runs (docs/timeline.md), and the page in a real browser.

The pipeline cases run a job with ``--timeline`` and check that the picture holds what the run
really did: the watermarks the trace recorded, the outputs' windows, firings and late records.
The browser case renders a page in headless Chromium (Debian's package, installed by
scripts/setup) and checks the SVG was laid out and the page's script ran.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from jobs import late_data, sessions
from runner.cli import run_command
from runner.timeline import TimelineOptions, render
from samples.generate import BASE_MS
from tests.pictures import having, svg_of
from tests.unit.test_timeline_drawing import MODULE_OUTPUTS, MODULE_TRACE, drawings
from tools.browser import chromium

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "images" / "timeline-late-data.png"


def module_timeline(folder: Path) -> Path:
    """The course module's late-data timeline (tests/test_parallel_event_time.py) and one bad line."""
    source = folder / "timeline.jsonl"
    events = [
        json.dumps({"user_id": "u1", "action": "view", "timestamp": BASE_MS + s * 1000})
        for s in (1, 3, 12, 4, 17, 2, 25)
    ]
    source.write_text("\n".join([*events, "not json"]) + "\n")
    return source


def test_late_data_draws_the_modules_timeline_from_its_real_watermarks(tmp_path, capsys):
    picture = tmp_path / "late.html"
    argv = ["--input", str(module_timeline(tmp_path)), "--window", "10s", "--out-of-orderness", "0s"]
    argv += [
        "--allowed-lateness",
        "5s",
        "--sink",
        "file",
        "--output",
        str(tmp_path / "out"),
        "--timeline",
        str(picture),
    ]
    assert run_command(late_data.JOB, argv) == 0
    assert f"timeline: {picture}" in capsys.readouterr().err
    assert not any(p.name.startswith("timeline") for p in (tmp_path / "out").iterdir()), "the trace is no output"
    root = svg_of(picture.read_text(encoding="utf-8"))
    assert (root.get("data-keys"), root.get("data-events"), root.get("data-late"), root.get("data-errors")) == (
        "1",
        "7",
        "1",
        "1",
    )
    assert [int(w.get("data-firings")) for w in having(root, "window")] == [2, 1, 1]
    assert [f.get("data-firing") for f in having(root, "late-update")] == ["2"]
    assert len(having(root, "on-time")) == 3 and len(having(root, "purge")) == 1
    (late,) = having(root, "late")
    assert int(late.get("data-ts")) == BASE_MS + 2000 and int(late.get("data-missed-end")) == BASE_MS + 10_000
    # The watermark each event met, as the tap recorded it: none before the first, then the
    # highest event time so far (out-of-orderness 0).
    tips = [e.get("data-tip") for e in sorted(having(root, "event"), key=lambda e: int(e.get("data-index")))]
    met = [re.search(r"watermark when it arrived: (\S+)", tip).group(1) for tip in tips]
    assert met == ["none", *(f"2026-11-24T10:00:{s:02d}.000Z" for s in (1, 3, 12, 12, 17, 17))]
    assert [("behind it" in tip) for tip in tips] == [False, False, False, True, False, True, False]


def test_sessions_with_a_gap_of_3s_on_the_bundled_sample(tmp_path, capsys) -> None:
    picture = tmp_path / "sessions.html"
    argv = ["--gap", "3s", "--out-of-orderness", "1s", "--timeline", str(picture)]
    assert run_command(sessions.JOB, argv) == 0  # --sink print: the trace is collected with the outputs
    printed: dict[str, list[dict]] = {}
    for line in capsys.readouterr().out.splitlines():
        output, _, record = line.partition(" | ")
        printed.setdefault(output.strip(), []).append(json.loads(record))
    assert "timeline-trace" not in printed
    root = svg_of(picture.read_text(encoding="utf-8"))
    lanes = having(root, "lane")
    assert 1 <= len(lanes) <= 12
    for lane in lanes:  # every drawn key: one span per session record, one late mark per late record
        key = lane.get("data-key")
        assert len(having(lane, "session")) == sum(r["user_id"] == key for r in printed["sessions"])
        assert len(having(lane, "late")) == sum(r["user_id"] == key for r in printed.get("late", []))
    assert int(root.get("data-late", "")) == len(printed.get("late", [])) > 0
    assert int(root.get("data-errors", "")) == len(printed["errors"])


@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="no chromium: scripts/setup installs Debian's chromium package where apt-get runs as root",
)
def test_the_picture_renders_in_headless_chromium(tmp_path):
    page = tmp_path / "late.html"
    page.write_text(
        render(
            MODULE_TRACE,
            MODULE_OUTPUTS,
            "late_data",
            TimelineOptions(drawings=drawings("late_data"), allowed_lateness_ms=5000),
        )
    )
    dom = chromium("--dump-dom", page.as_uri(), cwd=tmp_path).stdout
    # The script ran to its end (it marks the body) and saw the one lane of the SVG.
    assert re.search(r'<body data-timeline-ready="1"', dom), dom[:500]
    assert "<svg" in dom and 'class="lane"' in dom
    shot = tmp_path / "late.png"
    chromium(f"--screenshot={shot}", "--window-size=1240,560", page.as_uri(), cwd=tmp_path)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    if os.environ.get("UPDATE_TIMELINE_SCREENSHOT"):  # the README's picture: see docs/timeline.md
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
