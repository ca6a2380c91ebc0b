"""``make bench-state``'s report (bench/state_scale.py) from a made-up run: the input it generates,
events per CPU-second as a slope per backend, the table, and the plot's panels."""

import json
from xml.etree import ElementTree

from bench import state_scale
from udfs.timeutil import parse_event_time


def run(backend: str, keys: int, cpu_s: float, ok: bool = True) -> dict:
    checkpoints = [{"id": 1, "t": 10.0, "state_mb": 5.0, "uploaded_mb": 2.0, "duration_s": 0.5}] if ok else []
    result = {"ok": ok, "cpu_s": cpu_s, "peak_rss_mb": 900, "samples": [{"t": 10.0, "rss_mb": 800, "rocksdb_mb": 3.0}]}
    if not ok:
        result["error"] = "java.lang.OutOfMemoryError: Java heap space"
    return {
        "job": "sessions",
        "life": "growing",
        "backend": backend,
        "keys": keys,
        "result": {**result, "checkpoints": checkpoints},
    }


def test_every_key_has_one_event_a_millisecond_after_the_previous(tmp_path):
    path = state_scale.keys_file(tmp_path, 3)
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["user_id"] for e in events] == ["u000000000", "u000000001", "u000000002"]
    assert [parse_event_time(e["timestamp"]) - state_scale.START_MS for e in events] == [0, 1, 2]
    assert state_scale.keys_file(tmp_path, 3) == path  # cached


def test_the_report_slopes_per_backend_and_names_a_failed_run():
    runs = [run("hashmap", 1_000_000, 40.0), run("hashmap", 3_000_000, 0.0, ok=False), run("rocksdb", 1_000_000, 60.0)]
    runs.append(run("rocksdb", 3_000_000, 160.0))
    state_scale.slopes(runs)
    assert [r.get("events_per_cpu_s") for r in runs] == [None, None, None, 20_000]
    report = {"date": "today", "command": "c", "heap": "1g", "checkpoint_interval": "10s", "runs": runs}
    rows = [line for line in state_scale.table(report).splitlines() if line.startswith("| sessions")]
    assert len(rows) == 4
    assert "FAILED: java.lang.OutOfMemoryError: Java heap space" in rows[1]
    assert "| 20000 |" in rows[3] and "5.0 MB, 2.0 MB, 0.5 s" in rows[3]
    # One panel per job, life and backend: its largest key count that completed.
    svg = ElementTree.fromstring(state_scale.svg(report))
    titles = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text") if t.text and "keys" in t.text]
    assert titles == [
        "sessions, state lives 1d, hashmap, 1,000,000 keys",
        "sessions, state lives 1d, rocksdb, 3,000,000 keys",
    ]
