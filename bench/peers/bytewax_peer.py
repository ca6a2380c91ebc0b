"""The jobs' computation in Bytewax 0.21: one dataflow per job, reading the benchmark's file.

- moving_average: ``SlidingWindower(10 s, 5 s, aligned to the epoch)`` keyed by ``user_id``, a
  fold of (count, sum), as the job's windows;
- sessions: ``SessionWindower(gap 5 min)`` keyed by ``user_id``, a fold of (count, first, last);
- late_data: ``TumblingWindower(10 s, aligned to the epoch)`` keyed by ``user_id``, a fold of
  (count, sum); Bytewax has no allowed lateness, and the benchmark runs the job without any.

Event time: ``EventClock`` on the parsed ``timestamp`` waiting the benchmark's 1 s bound. Its
``now_getter`` is a constant, so its watermark does not advance with the machine's clock and the
result depends on the input alone, as the job's. Bytewax's clock is one per key (the largest time
of *that key's* events minus the bound), not one per reader as Flink's; an event behind it goes
to ``late`` for all its windows at once. Run with one worker (``run_main``), as the job at
parallelism 1.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import bytewax.operators as op
from bytewax.connectors.files import FileSource
from bytewax.dataflow import Dataflow
from bytewax.operators import windowing as win
from bytewax.testing import run_main

from bench.peers import GAP_MS, OUTPUTS, SIZE_MS, SLIDE_MS, WINDOW_MS
from bench.peers.common import Outputs, late_record, session_record, tumbling_record, window_record

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOW = EPOCH  # a constant "system time": the watermark is event time only


def event_time(event: dict) -> datetime:
    return datetime.fromisoformat(event["timestamp"])


def epoch_ms(t: datetime) -> int:
    return (t - EPOCH) // timedelta(milliseconds=1)


def parse(line: str) -> tuple[str, dict]:
    event = json.loads(line)
    return event["user_id"], event


def build(job: str, path: str, bound_ms: int, outputs: Outputs) -> Dataflow:
    flow = Dataflow(f"bench-{job}")
    lines = op.input("read", flow, FileSource(path))
    keyed = op.map("parse", op.filter("non-empty", lines, lambda line: line.strip() != ""), parse)
    clock = win.EventClock(
        event_time,
        wait_for_system_duration=timedelta(milliseconds=bound_ms),
        now_getter=lambda: NOW,
        to_system_utc=lambda _t: None,
    )
    {"moving_average": moving_average, "sessions": sessions, "late_data": late_data}[job](keyed, clock, outputs)
    return flow


def count_sum(acc: tuple[int, float], e: dict) -> tuple[int, float]:
    return acc[0] + 1, acc[1] + (e.get("value") or 0)


def merge_count_sums(a: tuple[int, float], b: tuple[int, float]) -> tuple[int, float]:
    return a[0] + b[0], a[1] + b[1]


def moving_average(keyed: op.KeyedStream[dict], clock: win.EventClock, outputs: Outputs) -> None:
    windower = win.SlidingWindower(
        length=timedelta(milliseconds=SIZE_MS), offset=timedelta(milliseconds=SLIDE_MS), align_to=EPOCH
    )

    windows = win.fold_window("window", keyed, clock, windower, lambda: (0, 0.0), count_sum, merge_count_sums)

    def emit(item: tuple[str, tuple[int, tuple[int, float]]]) -> None:
        key, (window_id, (count, total)) = item
        start = window_id * SLIDE_MS
        outputs.write("windows", window_record(key, start, start + SIZE_MS, count, total))

    def emit_late(item: tuple[str, tuple[int, dict]]) -> None:
        _key, (window_id, event) = item
        # late_for gives every window the event is in: report the event once, with its last one
        if window_id == epoch_ms(event_time(event)) // SLIDE_MS:
            outputs.write("late", event)

    op.inspect("write", windows.down, lambda _s, item: emit(item))
    op.inspect("write-late", windows.late, lambda _s, item: emit_late(item))


def sessions(keyed: op.KeyedStream[dict], clock: win.EventClock, outputs: Outputs) -> None:
    windower = win.SessionWindower(gap=timedelta(milliseconds=GAP_MS))

    def fold(acc: tuple[int, int, int], e: dict) -> tuple[int, int, int]:
        t = epoch_ms(event_time(e))
        return acc[0] + 1, min(acc[1], t), max(acc[2], t)

    def merge(a: tuple[int, int, int], b: tuple[int, int, int]) -> tuple[int, int, int]:
        return a[0] + b[0], min(a[1], b[1]), max(a[2], b[2])

    windows = win.fold_window("window", keyed, clock, windower, lambda: (0, 2**62, -(2**62)), fold, merge)

    def emit(item: tuple[str, tuple[int, tuple[int, int, int]]]) -> None:
        key, (_window_id, (count, first, last)) = item
        outputs.write("sessions", session_record(key, first, last, count))

    op.inspect("write", windows.down, lambda _s, item: emit(item))
    op.inspect("write-late", windows.late, lambda _s, item: outputs.write("late", item[1][1]))


def late_data(keyed: op.KeyedStream[dict], clock: win.EventClock, outputs: Outputs) -> None:
    windower = win.TumblingWindower(length=timedelta(milliseconds=WINDOW_MS), align_to=EPOCH)
    windows = win.fold_window("window", keyed, clock, windower, lambda: (0, 0.0), count_sum, merge_count_sums)

    def emit(item: tuple[str, tuple[int, tuple[int, float]]]) -> None:
        key, (window_id, (count, total)) = item
        start = window_id * WINDOW_MS
        outputs.write("windows", tumbling_record(key, start, start + WINDOW_MS, count, total))

    op.inspect("write", windows.down, lambda _s, item: emit(item))
    op.inspect("write-late", windows.late, lambda _s, item: outputs.write("late", late_record(item[1][1], WINDOW_MS)))


def run(spec: dict, measure) -> dict:
    """Build the job's dataflow, then run it measured (``measure()`` -> (seconds, CPU seconds))."""
    from bench.cases import BOUND_MS

    job = spec["case"]
    outputs = Outputs(spec["out"], OUTPUTS[job])
    flow = build(job, spec["files"]["activity"], BOUND_MS, outputs)
    start = measure()
    run_main(flow)
    counts = outputs.close()
    return {**measure(start), "outputs": sorted(counts), "records": counts}
