"""The ``--timeline`` drawing (runner/timeline.py) on known runs: the structure of the SVG.

Each case is a trace as runner/trace.py records it (event time, the watermark before the record,
behind it or not) and the outputs the job gave on it; the picture is parsed back and its elements
(classes and data-* attributes) are counted per key.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from jobs import late_data
from runner.cli import parse
from runner.errors import OptionError
from runner.timeline import TimelineOptions, render
from tests.pictures import having, svg_of
from udfs.timeutil import format_time

BASE = 1_795_514_400_000  # 2026-11-24T10:00:00Z, a minute boundary
SVG = "{http://www.w3.org/2000/svg}"


def drawings(job: str):
    """What the job declares its outputs' records stand for (``Job.timeline``)."""
    return importlib.import_module(f"jobs.{job}").JOB.timeline


def trace_of(events, bound_ms=0, input_name="events"):
    """``[(key, second, extra fields)]`` in arrival order -> trace lines with the bridge's
    watermark, *max event time so far - bound*, before each record."""
    lines, highest = [], None
    for seq, (key, second, *extra) in enumerate(events, 1):
        ts = BASE + int(second * 1000)
        wm = None if highest is None else highest - bound_ms
        raw = json.dumps({"user_id": key, "action": "view", "timestamp": ts, **(extra[0] if extra else {})})
        lines.append(
            {
                "input": input_name,
                "split": 0,
                "seq": seq,
                "at": seq,
                "ts": ts,
                "wm": wm,
                "behind": wm is not None and ts < wm,
                "raw": raw,
            }
        )
        highest = ts if highest is None else max(highest, ts)
    return lines


def lane(root: ET.Element, key: str) -> ET.Element:
    (found,) = [g for g in having(root, "lane") if g.get("data-key") == key]
    return found


def window(start_s, count, firing, key="u1"):
    return {
        "user_id": key,
        "window_start": format_time(BASE + start_s * 1000),
        "window_end": format_time(BASE + (start_s + 10) * 1000),
        "count": count,
        "sum": 0.0,
        "firing": firing,
        "late_update": firing > 1,
    }


#: The course module's late-data timeline: events at 1, 3, 12, 4, 17, 2, 25 s in that order, 10 s
#: windows, no out-of-orderness, 5 s allowed lateness; what late_data gives on it (its test).
MODULE_TRACE = trace_of([("u1", s) for s in (1, 3, 12, 4, 17, 2, 25)])
MODULE_OUTPUTS = {
    "windows": [window(0, 2, 1), window(0, 3, 2), window(10, 2, 1), window(20, 1, 1)],
    "late": [{"user_id": "u1", "action": "view", "timestamp": BASE + 2000, "window_end": format_time(BASE + 10_000)}],
    "errors": [{"job": "late_data", "error": "not valid JSON: Expecting value at line 1 column 1", "raw": "x"}],
}


def test_the_modules_late_data_timeline():
    html = render(
        MODULE_TRACE,
        MODULE_OUTPUTS,
        "late_data",
        TimelineOptions(drawings=drawings("late_data"), allowed_lateness_ms=5000),
    )
    root = svg_of(html)
    assert root.get("data-keys") == "1" and root.get("data-errors") == "1" and root.get("data-late") == "1"
    u1 = lane(root, "u1")
    assert len(having(u1, "event")) == 7
    windows = having(u1, "window")
    assert [(int(w.get("data-start")) - BASE, int(w.get("data-firings"))) for w in windows] == [
        (0, 2),
        (10_000, 1),
        (20_000, 1),
    ]
    firings = having(u1, "firing")
    assert sorted((int(f.get("data-end")) - BASE, f.get("data-firing")) for f in firings) == [
        (10_000, "1"),
        (10_000, "2"),
        (20_000, "1"),
        (30_000, "1"),
    ]
    (late_update,) = having(u1, "late-update")
    assert late_update.get("data-firing") == "2"
    # The event at 4 s arrived behind the watermark (12 s) but within the allowed lateness.
    (behind,) = having(u1, "behind")
    assert int(behind.get("data-ts")) == BASE + 4000
    # The event at 2 s came after the watermark passed 10 s + 5 s: late for [0 s, 10 s).
    (late,) = having(u1, "late")
    assert int(late.get("data-ts")) == BASE + 2000 and int(late.get("data-missed-end")) == BASE + 10_000
    assert "LATE: missed [2026-11-24T10:00:00.000Z, 2026-11-24T10:00:10.000Z)" in late.get("data-tip")
    assert len(having(u1, "late-link")) == 1
    # Only [0 s, 10 s) saw its allowed lateness end before the input did.
    assert [int(p.get("data-end")) - BASE for p in having(u1, "purge")] == [10_000]
    assert len(having(u1, "watermark")) == 1
    # Firing 1 sits where the watermark passed 10 s: after the event at 12 s, before the one at 4 s.
    events = {int(e.get("data-ts")) - BASE: float(e.get("cy")) for e in having(u1, "event")}
    on_time = next(f for f in firings if f.get("data-firing") == "1" and f.get("data-end") == str(BASE + 10_000))
    diamond_y = float(re.match(r"M[\d.]+,([\d.]+)", on_time.find(f"{SVG}path").get("d")).group(1)) + 5
    assert events[12_000] < diamond_y < events[4000]


def legend_of(html: str) -> list[str]:
    return re.findall(r'<span data-mark="([a-z-]+)">', html.split('<div class="legend">', 1)[1].split("</div>", 1)[0])


def test_the_legend_names_the_marks_the_picture_has():
    late_data_html = render(
        MODULE_TRACE,
        MODULE_OUTPUTS,
        "late_data",
        TimelineOptions(drawings=drawings("late_data"), allowed_lateness_ms=5000),
    )
    assert legend_of(late_data_html) == [
        "event",
        "behind",
        "late",
        "watermark",
        "window",
        "on-time",
        "end-of-input",
        "late-update",
        "purge",
    ]
    clicks = trace_of([("u1", 1), ("u1", 4)], input_name="clicks")
    purchases = trace_of([("u1", 3, {"amount": 5.0})], input_name="purchases")
    pair = {"user_id": "u1", "click_time": format_time(BASE + 1000), "purchase_time": format_time(BASE + 3000)}
    outputs = {"conversions": [pair], "consumed": [], "late": [], "errors": [{"error": "bad", "raw": "x"}]}
    assert legend_of(
        render(clicks + purchases, outputs, "interval_join", TimelineOptions(drawings=drawings("interval_join")))
    ) == [
        "event",
        "watermark",
        "pair",
    ]


def test_a_firing_at_the_end_of_input_is_marked_as_such():
    html = render(
        MODULE_TRACE,
        MODULE_OUTPUTS,
        "late_data",
        TimelineOptions(drawings=drawings("late_data"), allowed_lateness_ms=5000),
    )
    u1 = lane(svg_of(html), "u1")
    # Only [20 s, 30 s) was still open when the input ended (the last event was at 25 s).
    assert [int(f.get("data-end")) - BASE for f in having(u1, "end-of-input")] == [30_000]
    (last,) = having(u1, "end-of-input")
    assert "at the end of input (the final watermark)" in last.get("data-tip")


def test_the_header_counts_the_error_reasons_it_does_not_name():
    errors = [{"error": f"reason {i}", "raw": f"x{i}"} for i in range(10)] + [{"error": "reason 0", "raw": "y"}]
    html = render(
        MODULE_TRACE, {"late": [], "errors": errors}, "late_data", TimelineOptions(drawings=drawings("late_data"))
    )
    header = html.split('<div class="summary">', 1)[1].split("<br>", 1)[0]
    assert header.endswith(
        "<b>11</b> errors: reason 0 (2); reason 1 (1); reason 2 (1); reason 3 (1); reason 4 (1); "
        "and 5 more reasons (5 errors)"
    )
    one_more = render(
        MODULE_TRACE, {"late": [], "errors": errors[:6]}, "late_data", TimelineOptions(drawings=drawings("late_data"))
    )
    assert "reason 4 (1); and 1 more reason (1 error)" in one_more


def test_hovering_shows_the_record_and_the_page_needs_no_network():
    html = render(
        MODULE_TRACE,
        MODULE_OUTPUTS,
        "late_data",
        TimelineOptions(drawings=drawings("late_data"), allowed_lateness_ms=5000),
    )
    first = having(svg_of(html), "event")[0]
    assert json.loads(MODULE_TRACE[0]["raw"])["timestamp"] == BASE + 1000
    assert MODULE_TRACE[0]["raw"] in first.get("data-tip") and "watermark when it arrived: none yet" in first.get(
        "data-tip"
    )
    assert "<script>" in html and "data-timeline-ready" in html
    assert not re.search(r"\b(src|href)=", html) and "http" not in html.replace("http://www.w3.org/2000/svg", "")


def session(key, first_s, last_s, gap_s, count):
    return {
        "user_id": key,
        "session_start": format_time(BASE + int(first_s * 1000)),
        "session_end": format_time(BASE + int(last_s * 1000)),
        "window_end": format_time(BASE + int((last_s + gap_s) * 1000)),
        "duration_s": last_s - first_s,
        "event_count": count,
        "actions": ["view"] * count,
    }


def test_sessions_split_by_the_gap_per_key():
    # Gap 3 s: alice 0, 1, 2 | 10, 11; bob 0.5, 5 (two sessions), and one record late for bob's first.
    arrivals = [("alice", 0), ("bob", 0.5), ("alice", 1), ("alice", 2), ("bob", 5), ("alice", 10), ("bob", 1)]
    arrivals += [("alice", 11)]
    trace = trace_of(arrivals)
    outputs = {
        "sessions": [
            session("alice", 0, 2, 3, 3),
            session("bob", 0.5, 0.5, 3, 1),
            session("bob", 5, 5, 3, 1),
            session("alice", 10, 11, 3, 2),
        ],
        "late": [json.loads(trace[6]["raw"])],
        "errors": [],
    }
    root = svg_of(render(trace, outputs, "sessions", TimelineOptions(drawings=drawings("sessions"))))
    assert [g.get("data-key") for g in having(root, "lane")] == ["alice", "bob"]
    assert len(having(lane(root, "alice"), "session")) == 2 and not having(lane(root, "alice"), "late")
    bob = lane(root, "bob")
    assert len(having(bob, "session")) == 2 and len(having(bob, "firing")) == 2
    (late,) = having(bob, "late")
    assert int(late.get("data-ts")) == BASE + 1000 and int(late.get("data-missed-end")) == BASE + 3500


def test_timeouts_and_join_pairs():
    timeouts = {
        "timeouts": [
            {"user_id": "u1", "last_seen": format_time(BASE + 2000), "timeout_at": format_time(BASE + 5000)},
            {"user_id": "u1", "last_seen": format_time(BASE + 9000), "timeout_at": format_time(BASE + 12000)},
        ],
        "late": [],
        "errors": [],
    }
    root = svg_of(
        render(
            trace_of([("u1", 0), ("u1", 2), ("u1", 9)]),
            timeouts,
            "inactivity_timeouts",
            TimelineOptions(drawings=drawings("inactivity_timeouts")),
        )
    )
    assert len(having(lane(root, "u1"), "timeout")) == 2
    clicks = trace_of([("u1", 1), ("u1", 4)], input_name="clicks")
    purchases = trace_of([("u1", 3, {"amount": 5.0})], input_name="purchases")
    conversions = {
        "conversions": [
            {"user_id": "u1", "click_time": format_time(BASE + 1000), "purchase_time": format_time(BASE + 3000)}
        ],
        "consumed": [],
        "late": [],
        "errors": [],
    }
    root = svg_of(
        render(clicks + purchases, conversions, "interval_join", TimelineOptions(drawings=drawings("interval_join")))
    )
    (pair,) = having(lane(root, "u1"), "pair")
    assert float(pair.get("x1")) < float(pair.get("x2"))


def test_many_keys_are_sampled_and_the_picture_says_so():
    trace = trace_of([(f"k{i % 30}", i) for i in range(300)])
    html = render(
        trace, {"late": [], "errors": []}, "sessions", TimelineOptions(drawings=drawings("sessions"), max_keys=5)
    )
    assert svg_of(html).get("data-keys") == "5" and "a sample: 5 of 30 keys" in html
    picked = svg_of(
        render(
            trace, {"late": [], "errors": []}, "sessions", TimelineOptions(drawings=drawings("sessions"), keys=("k7",))
        )
    )
    assert [g.get("data-key") for g in having(picked, "lane")] == ["k7"]


def test_a_100k_event_run_is_sampled_and_stays_small():
    keys = 50  # 2000 events each: lanes are sampled too
    arrivals = [(f"user-{i % keys}", i / 10 - (3 if i % 97 == 0 else 0)) for i in range(100_000)]
    trace = trace_of(arrivals, bound_ms=1000)
    late = [json.loads(line["raw"]) for line in trace if line["behind"]]
    windows = [
        window(start, 10, 1, key=f"user-{k}") for k in range(keys) for start in range(0, 10_000, 10) if k % 2 == 0
    ]
    html = render(
        trace,
        {"windows": windows, "late": late, "errors": []},
        "late_data",
        TimelineOptions(drawings=drawings("late_data")),
    )
    root = svg_of(html)
    assert root.get("data-events") == "100000" and root.get("data-keys") == "12"
    assert all(int(g.get("data-drawn-events")) <= 400 + int(g.get("data-late")) for g in having(root, "lane"))
    assert "a sample: 12 of 50 keys" in html and "drawing " in html
    assert len(html) < 5_000_000, f"{len(html)} bytes"


def test_the_options_of_every_job():
    config = parse(late_data.JOB, ["--timeline", "late.html", "--timeline-keys", "u1, u2"])
    assert config.timeline is not None and config.timeline.keys == ("u1", "u2")
    assert parse(late_data.JOB, []).timeline is None  # no trace, no tap: the job runs as ever
    for argv in (["--timeline-keys", "u1"], ["--timeline", "x.html", "--sink", "kafka"]):
        with pytest.raises(OptionError):
            parse(late_data.JOB, argv)


def test_every_job_declares_how_its_outputs_are_drawn_and_the_drawing_knows_no_job():
    jobs = sorted(m.name for m in pkgutil.iter_modules(importlib.import_module("jobs").__path__))
    assert len(jobs) == 9 and [name for name in jobs if not drawings(name)] == []
    # Adding a job needs no edit in runner/: the drawing names no field of any job's output.
    source = (Path(__file__).resolve().parents[2] / "runner" / "timeline.py").read_text()
    fields = ("session_start", "window_start", "fired_at", "timeout_at", "click_time", "purchase", "profile")
    assert [f for f in fields if f'"{f}"' in source] == []


def test_no_function_of_the_drawing_is_longer_than_a_screen():
    tree = ast.parse((Path(__file__).resolve().parents[2] / "runner" / "timeline.py").read_text())
    lengths = {f.name: f.end_lineno - f.lineno + 1 for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}
    assert {name: n for name, n in lengths.items() if n > 50} == {}
