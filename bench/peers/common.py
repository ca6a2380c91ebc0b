"""What both peers share: the job's output format, and writing outputs where the harness reads them."""

from __future__ import annotations

import json
from pathlib import Path

from bench.data import iso
from bench.peers import GAP_MS
from bench.peers.compare import ms


def window_record(key: str, start_ms: int, end_ms: int, count: int, total: float) -> dict:
    """A moving_average ``windows`` record with the fields the comparison reads."""
    return {"key": key, "window_start": iso(start_ms), "window_end": iso(end_ms), "count": count, "sum": total}


def tumbling_record(user_id: str, start_ms: int, end_ms: int, count: int, total: float) -> dict:
    """A late_data ``windows`` record of a window's one firing (the benchmark has no allowed
    lateness, so every window of the job fires once too)."""
    return {
        "user_id": user_id,
        "window_start": iso(start_ms),
        "window_end": iso(end_ms),
        "count": count,
        "sum": total,
        "firing": 1,
        "late_update": False,
    }


def late_record(event: dict, window_ms: int) -> dict:
    """A late_data ``late`` record: the event and the end of the window it missed."""
    t = ms(event["timestamp"])
    return {**event, "window_end": iso(t - t % window_ms + window_ms)}


def session_record(user_id: str, first_ms: int, last_ms: int, count: int) -> dict:
    """A sessions ``sessions`` record: first and last event, Flink's window end (last + gap)."""
    return {
        "user_id": user_id,
        "session_start": iso(first_ms),
        "session_end": iso(last_ms),
        "window_end": iso(last_ms + GAP_MS),
        "duration_s": (last_ms - first_ms) / 1000,
        "event_count": count,
    }


class Outputs:
    """``<out>/<output>/part-0.jsonl`` per output, as the job's file sink lays them out."""

    def __init__(self, out: str | Path, names: tuple[str, ...]):
        self.files = {}
        for name in names:
            folder = Path(out, name)
            folder.mkdir(parents=True, exist_ok=True)
            self.files[name] = open(folder / "part-0.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self.counts = dict.fromkeys(names, 0)

    def write(self, name: str, record: dict) -> None:
        self.files[name].write(json.dumps(record) + "\n")
        self.counts[name] += 1

    def close(self) -> dict[str, int]:
        for f in self.files.values():
            f.close()
        return self.counts
