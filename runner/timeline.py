"""``--timeline FILE.html``: a run's event time as one picture, drawn from what really happened.

Input: the trace of the run (runner/trace.py: per input record its event time, the watermark in
force when it arrived and whether it was behind it, in arrival order) and the job's outputs as the
client read them. Output: one self-contained HTML file (inline SVG, a few lines of inline script
for tooltips, nothing fetched). Nothing is re-simulated: events, watermarks and late flags are the
trace's, windows, sessions, firings, timeouts and pairs are the outputs' records. Two things are
*placed*, not computed anew: a firing is drawn at the arrival after which the recorded watermark
passed its time (or, for a late update, after the late event that caused it), and the end of
allowed lateness where the recorded watermark passed ``end + --allowed-lateness``.

Per key, one lane: x is event time, y arrival order (top to bottom); see docs/timeline.md.

:func:`render` is a pure function (no JVM, no files), so the unit layer tests the drawing itself.
Nothing here imports ``jobs/``: what the drawing knows of a job is the shape of its output records.
"""

from __future__ import annotations

import bisect
import heapq
import json
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from udfs.drawing import Drawing, Firings, IntervalPairs, Routed, Sessions, Timeouts, Versions, WindowPairs, Windows
from udfs.job import EVERY_OUTPUT
from udfs.timeutil import parse_event_time

#: A firing or purge that never happened before the input ended (the final watermark did it).
END = math.inf


@dataclass(frozen=True)
class TimelineOptions:
    """What the drawing needs to know beyond the records."""

    key_field: str | None = "user_id"  # the field the job keys by (None: one stream, key null)
    out_of_orderness_ms: int = 0
    allowed_lateness_ms: int = 0
    keys: tuple[str, ...] | None = None  # --timeline-keys
    max_keys: int = 12  # more keys than this: a sample, said on the picture
    max_events_per_key: int = 400  # more events in a lane: every n-th (late ones always), said
    max_spans_per_key: int = 200
    title: str = ""
    # What each output's records stand for (the job's declaration, udfs/drawing.py); EVERY_OUTPUT:
    # any other output. late and errors are drawn from the input records they hold.
    drawings: Mapping[str, Drawing] = field(default_factory=dict)


# --- the model: what happened, per key ----------------------------------------------------------


@dataclass
class Event:
    index: int  # position in arrival order over the whole run
    source: tuple[str, int]  # (input, split)
    key: str
    ts: int
    wm: int | None  # the watermark of its own source when it arrived
    behind: bool
    raw: str
    fields: dict
    late: dict | None = None  # the late record it became
    missed: Span | None = None  # the window/session it missed
    outputs: list[str] = field(default_factory=list)  # the outputs it was routed to, or errors


@dataclass
class Firing:
    number: int
    late_update: bool
    at: float  # fired before the event at this arrival index (END: after the last event)
    record: dict
    end_of_input: bool = False  # fired by the final watermark: no record's watermark reached it


@dataclass
class Span:
    kind: str  # window, session, trigger, timeout
    output: str
    key: str
    start: int
    end: int  # exclusive, as Flink's windows
    firings: list[Firing] = field(default_factory=list)
    purge_at: float | None = None  # arrival index where the allowed lateness ended


@dataclass
class Pair:
    key: str
    left: Event
    right: Event
    record: dict


@dataclass
class Model:
    events: list[Event]
    watermarks: list[float]  # the operators' watermark before each event (min over sources)
    spans: dict[str, list[Span]]
    pairs: dict[str, list[Pair]]
    late: list[Mapping]
    unmatched_late: int
    errors: list[Mapping]
    output_counts: dict[str, int]
    # What the records' own watermarks reached: a window ending later fired only when the input
    # ended (Flink's final watermark), not on an event.
    final_watermark: float = -math.inf
    by_key: dict[str, list[Event]] = field(default_factory=dict)  # in arrival order
    by_key_time: dict[str, tuple[list[int], list[Event]]] = field(default_factory=dict)  # sorted by time

    def in_time(self, key: str, start: int, end: int) -> list[Event]:
        """The events of ``key`` with ``start <= ts < end``, in arrival order."""
        times, ordered = self.by_key_time.get(key, ([], []))
        found = ordered[bisect.bisect_left(times, start) : bisect.bisect_left(times, end)]
        return sorted(found, key=lambda e: e.index)

    def first_index_with_watermark(self, time: float) -> float:
        """The arrival index before which the watermark had reached ``time`` (END: never)."""
        i = bisect.bisect_left(self.watermarks, time)
        return i if i < len(self.watermarks) else END


def key_text(value: Any) -> str:
    """A key as the lane shows it: strings as they are, anything else as JSON (``null``)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _time(value: Any) -> int:
    return parse_event_time(value)


def _arrival_order(trace: Iterable[Mapping]) -> list[Mapping]:
    """Trace lines in arrival order: each source's own order (seq), sources merged by wall clock."""
    by_source: dict[tuple[str, int], list[Mapping]] = defaultdict(list)
    for line in trace:
        by_source[(line["input"], line.get("split", 0))].append(line)
    runs = [sorted(lines, key=lambda line: line["seq"]) for lines in by_source.values()]
    return list(heapq.merge(*runs, key=lambda line: line.get("at", 0)))


def _operator_watermarks(events: Sequence[Event]) -> list[float]:
    """The watermark an operator after the keyed exchange had before each event: the minimum
    over the sources (one that has not sent a record yet holds it at -inf, one that has sent its
    last is taken as ended). With one source, simply each event's own watermark."""
    sources = sorted({e.source for e in events})
    if len(sources) == 1:
        return [-math.inf if e.wm is None else e.wm for e in events]
    first = {s: min(e.index for e in events if e.source == s) for s in sources}
    last = {s: max(e.index for e in events if e.source == s) for s in sources}
    latest: dict[tuple[str, int], float] = {}
    result = []
    for e in events:
        latest[e.source] = -math.inf if e.wm is None else e.wm
        marks = []
        for s in sources:
            if e.index < first[s]:
                marks.append(-math.inf)
            elif e.index > last[s]:
                marks.append(math.inf)
            else:
                marks.append(latest.get(s, -math.inf))
        result.append(min(marks))
    # Monotone by construction for one source; several sources could dip where one ends: keep the max.
    for i in range(1, len(result)):
        result[i] = max(result[i], result[i - 1])
    return result


def _subset(fields: Mapping, record: Mapping) -> bool:
    return all(record.get(name) == value for name, value in fields.items())


class _EventIndex:
    """Finds the traced event a record of an output stands for: same key and event time, every
    field the producer wrote present in the record, not taken by an earlier record."""

    def __init__(self, events: Sequence[Event]):
        self.by_time: dict[tuple[str, int], list[Event]] = defaultdict(list)
        for e in events:
            self.by_time[(e.key, e.ts)].append(e)
        self.taken: set[tuple[str, int]] = set()
        self.by_key: dict[str, list[Event]] = defaultdict(list)
        for e in events:
            self.by_key[e.key].append(e)

    def of_key(self, key: str) -> list[Event]:
        return self.by_key.get(key, [])

    def find(self, key: str, ts: int, record: Mapping | None = None, purpose: str = "", input_name: str | None = None):
        for e in self.by_time.get((key, ts), ()):
            if (purpose, e.index) in self.taken:
                continue
            if input_name is not None and e.source[0] != input_name:
                continue
            if record is not None and not _subset(e.fields, record):
                continue
            if purpose:
                self.taken.add((purpose, e.index))
            return e
        return None


def build_model(trace: Iterable[Mapping], outputs: Mapping[str, Sequence[Mapping]], options: TimelineOptions) -> Model:
    events = []
    for i, line in enumerate(_arrival_order(trace)):
        try:
            fields = json.loads(line["raw"])
        except (TypeError, ValueError):
            fields = {}
        key = "null" if options.key_field is None else key_text(fields.get(options.key_field))
        source = (line["input"], line.get("split", 0))
        events.append(Event(i, source, key, line["ts"], line.get("wm"), bool(line.get("behind")), line["raw"], fields))
    model = Model(
        events=events,
        watermarks=_operator_watermarks(events) if events else [],
        spans=defaultdict(list),
        pairs=defaultdict(list),
        late=list(outputs.get("late", ())),
        unmatched_late=0,
        errors=list(outputs.get("errors", ())),
        output_counts={name: len(records) for name, records in outputs.items()},
    )
    model.final_watermark = _final_watermark(events, options.out_of_orderness_ms)
    index = _EventIndex(events)
    model.by_key = dict(index.by_key)
    for key, keyed in model.by_key.items():
        ordered = sorted(keyed, key=lambda e: (e.ts, e.index))
        model.by_key_time[key] = ([e.ts for e in ordered], ordered)
    windows: dict[tuple[str, str, int, int], Span] = {}
    for name, records in outputs.items():
        drawing = options.drawings.get(name, options.drawings.get(EVERY_OUTPUT))
        if name in ("late", "errors", "consumed") or drawing is None:
            continue
        for record in records:
            _place_record(model, index, windows, name, record, drawing)
    for spans in model.spans.values():
        spans.sort(key=lambda s: (s.start, s.end))
        for span in spans:
            _place_firings(model, span, options)
    _mark_late(model, index, options.key_field)
    _mark_errors(model)
    return model


def _final_watermark(events: Sequence[Event], bound_ms: int) -> float:
    """The watermark after the last record, before the end of input: per source, its highest
    event time minus the bound where its watermark followed its own records to the last one (a
    file); else the last one recorded (a Kafka reader, whose watermark is the minimum over its
    partitions and may lag far behind its records). The minimum over the sources."""
    by_source: dict[tuple[str, int], list[Event]] = defaultdict(list)
    for event in events:
        by_source[event.source].append(event)
    finals: list[float] = []
    for arrived in by_source.values():
        last = arrived[-1]
        before = max((e.ts for e in arrived[:-1]), default=None)
        followed = before is not None and last.wm is not None and last.wm >= before - bound_ms - 1
        if followed or len(arrived) == 1:
            finals.append(max(e.ts for e in arrived) - bound_ms - 1)
        else:
            finals.append(-math.inf if last.wm is None else last.wm)
    return min(finals, default=-math.inf)


def _span(windows, model: Model, kind: str, output: str, key: str, start: int, end: int) -> Span:
    slot = (output, key, start, end)
    if slot not in windows:
        windows[slot] = Span(kind, output, key, start, end)
        model.spans[key].append(windows[slot])
    return windows[slot]


def _place_record(model: Model, index: _EventIndex, windows, name: str, record: Mapping, drawing: Drawing) -> None:
    """One output record on the picture, as its job declared it (udfs/drawing.py)."""
    if drawing.key not in record:
        return
    key = key_text(record[drawing.key])
    match drawing:
        case WindowPairs():
            span = _span(windows, model, "window", name, key, _time(record[drawing.start]), _time(record[drawing.end]))
            if not span.firings:
                span.firings.append(Firing(1, False, END, dict(record)))
            (left_input, left_field), (right_input, right_field) = drawing.left, drawing.right
            _pair(model, index, key, record[left_field], record[right_field], record, left_input, right_input)
        case Windows():
            span = _span(windows, model, "window", name, key, _time(record[drawing.start]), _time(record[drawing.end]))
            number = record.get("firing", len(span.firings) + 1)
            span.firings.append(Firing(number, bool(record.get("late_update", number > 1)), END, dict(record)))
        case Sessions():
            span = _span(windows, model, "session", name, key, _time(record[drawing.start]), _time(record[drawing.end]))
            span.firings.append(Firing(len(span.firings) + 1, len(span.firings) > 0, END, dict(record)))
        case Firings():
            first, fired = _time(record[drawing.first]), _time(record[drawing.fired])
            span = _span(windows, model, "trigger", name, key, first, fired + 1)
            span.firings.append(Firing(len(span.firings) + 1, False, END, dict(record)))
        case Timeouts():
            span = _span(
                windows, model, "timeout", name, key, _time(record[drawing.last]), _time(record[drawing.at]) + 1
            )
            span.firings.append(Firing(1, False, END, dict(record)))
        case IntervalPairs():
            (left_input, left_field), (right_input, right_field) = drawing.left, drawing.right
            left = index.find(key, _time(record[left_field]), input_name=left_input)
            right = index.find(key, _time(record[right_field]), input_name=right_input)
            if left is not None and right is not None:
                model.pairs[key].append(Pair(key, left, right, dict(record)))
        case Versions():
            probe_input, probe_field = drawing.probe
            probe = index.find(key, _time(record[probe_field]), input_name=probe_input)
            if probe is None:
                return
            probe.outputs.append(name)
            versions = [e for e in index.of_key(key) if e.source[0] == drawing.versions and e.ts <= probe.ts]
            if versions and record.get(drawing.version) is not None:
                model.pairs[key].append(Pair(key, max(versions, key=lambda e: (e.ts, e.index)), probe, dict(record)))
        case Routed():
            event = index.find(key, _time(record[drawing.time]), record, purpose=f"output:{name}")
            if event is not None:
                event.outputs.append(name)


def _pair(model, index, key, left_fields, right_fields, record, left_input, right_input) -> None:
    left = index.find(key, _time(left_fields["timestamp"]), left_fields, input_name=left_input)
    right = index.find(key, _time(right_fields["timestamp"]), right_fields, input_name=right_input)
    if left is not None and right is not None:
        model.pairs[key].append(Pair(key, left, right, dict(record)))


def _place_firings(model: Model, span: Span, options: TimelineOptions) -> None:
    """When (in arrival order) each firing happened, from the recorded watermarks."""
    span.firings.sort(key=lambda f: f.number)
    max_timestamp = span.end - 1
    on_time = model.first_index_with_watermark(max_timestamp)
    if span.kind == "trigger":
        # A count or condition trigger fires on the element that completes it, a time trigger
        # (or the end of input) when the watermark passes: whichever came first.
        fired = max_timestamp
        element = next((e.index + 0.5 for e in model.in_time(span.key, fired, fired + 1)), END)
        on_time = min(on_time, element)
    # Late updates: the events behind the watermark that still went into this window, in order.
    causes = [e.index + 0.5 for e in model.in_time(span.key, span.start, span.end) if e.index >= on_time and e.behind]
    for i, firing in enumerate(span.firings):
        if i == 0 or not firing.late_update:
            firing.at = on_time
        else:
            firing.at = causes[i - 1] if i - 1 < len(causes) else on_time
    for firing in span.firings:
        firing.end_of_input = firing.at == END and not firing.late_update and max_timestamp > model.final_watermark
    if span.kind in ("window", "session") and options.allowed_lateness_ms > 0:
        span.purge_at = model.first_index_with_watermark(max_timestamp + options.allowed_lateness_ms)


def _mark_late(model: Model, index: _EventIndex, key_field: str | None) -> None:
    for record in model.late:
        key = "null" if key_field is None else key_text(record[key_field]) if key_field in record else None
        try:
            ts = _time(record["timestamp"])
        except (KeyError, ValueError):
            model.unmatched_late += 1
            continue
        event = None if key is None else index.find(key, ts, record, purpose="late", input_name=record.get("input"))
        if event is None:
            model.unmatched_late += 1
            continue
        event.late = dict(record)
        spans = [s for s in model.spans.get(event.key, ()) if s.kind in ("window", "session")]
        if "window_end" in record:
            end = _time(record["window_end"])
            event.missed = next((s for s in spans if s.end == end), None)
        else:  # the latest window or session that held its time
            covering = [s for s in spans if s.start <= ts < s.end]
            event.missed = covering[-1] if covering else None


def _mark_errors(model: Model) -> None:
    raws = Counter(error.get("raw") for error in model.errors)
    for event in model.events:
        if raws.get(event.raw, 0) > 0:
            raws[event.raw] -= 1
            event.outputs.append("errors")


# --- drawing ------------------------------------------------------------------------------------

WIDTH = 1180
LEFT = 70  # room for arrival numbers
PLOT = WIDTH - LEFT - 30
ROW = 20  # px per event row while a lane is small
LANE_MAX = 640  # px of rows at most: larger lanes get thinner rows


def _fmt(ms: float) -> str:
    if ms in (math.inf, -math.inf):
        return "end of input" if ms > 0 else "none yet"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _short(ms: float, step: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    if step % 1000:
        return moment.strftime("%H:%M:%S.%f")[:-3]
    return moment.strftime("%H:%M:%S") if step < 86_400_000 else moment.strftime("%Y-%m-%d")


_STEPS: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000)
_STEPS += (120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000)


def _tick_step(span_ms: float) -> int:
    for step in _STEPS:
        if span_ms / step <= 10:
            return step
    return 86_400_000 * max(1, math.ceil(span_ms / 86_400_000 / 10))


def _attr(value: Any) -> str:
    return escape(str(value), quote=True)


def _tip(*lines: str) -> str:
    return _attr("\n".join(lines))


def _record_text(record: Mapping | str) -> str:
    text = record if isinstance(record, str) else json.dumps(record, ensure_ascii=False)
    return text if len(text) <= 400 else text[:400] + "..."


@dataclass
class _Lane:
    key: str
    events: list[Event]  # drawn (maybe a sample)
    total: int
    sample_note: str
    spans: list[Span]
    span_note: str
    pairs: list[Pair]
    late: int


def _choose_keys(model: Model, options: TimelineOptions) -> tuple[list[str], str]:
    by_key: dict[str, list[Event]] = defaultdict(list, model.by_key)
    for key in model.spans:
        by_key.setdefault(key, [])
    if options.keys is not None:
        missing = [k for k in options.keys if k not in by_key]
        note = f"--timeline-keys {','.join(options.keys)}"
        if missing:
            note += f" (no events for {', '.join(missing)})"
        return [k for k in options.keys if k in by_key], note
    order = sorted(by_key, key=lambda k: by_key[k][0].index if by_key[k] else len(model.events))
    if len(order) <= options.max_keys:
        return order, f"all {len(order)} keys"
    ranked = sorted(
        order,
        key=lambda k: (
            -sum(1 for e in by_key[k] if e.late),
            -sum(1 for e in by_key[k] if e.behind),
            -len(by_key[k]),
        ),
    )[: options.max_keys]
    chosen = [k for k in order if k in set(ranked)]
    return chosen, (
        f"a sample: {len(chosen)} of {len(order)} keys, those with the most late records, then the most events "
        "behind the watermark, then the most events (--timeline-keys a,b draws others)"
    )


def _lane(model: Model, key: str, options: TimelineOptions) -> _Lane:
    events = list(model.by_key.get(key, []))
    everything = events
    total = len(events)
    note = ""
    if total > options.max_events_per_key:
        every = math.ceil(total / options.max_events_per_key)
        events = [e for i, e in enumerate(events) if i % every == 0 or e.late or e.behind or e.outputs]
        note = f"drawing {len(events)} of {total} events: every {every}th, and every late, behind or routed one"
    spans = model.spans.get(key, [])
    span_note = ""
    if len(spans) > options.max_spans_per_key:
        missed = {id(e.missed) for e in events if e.missed is not None}
        every = math.ceil(len(spans) / options.max_spans_per_key)
        kept = [
            s for i, s in enumerate(spans) if i % every == 0 or id(s) in missed or any(f.late_update for f in s.firings)
        ]
        span_note = (
            f"drawing {len(kept)} of {len(spans)} windows: every {every}th, and those with late updates or late records"
        )
        spans = kept
    late = sum(1 for e in everything if e.late)
    return _Lane(key, events, total, note, spans, span_note, model.pairs.get(key, []), late)


def render(
    trace: Iterable[Mapping], outputs: Mapping[str, Sequence[Mapping]], job: str, options: TimelineOptions
) -> str:
    """The trace of a run and its outputs -> one self-contained HTML page."""
    model = build_model(trace, outputs, options)
    keys, keys_note = _choose_keys(model, options)
    lanes = [_lane(model, key, options) for key in keys]
    svg: list[str] = []
    height = 20.0
    for lane in lanes:
        part, lane_height = _draw_lane(model, lane, height, options)
        svg.append(part)
        height += lane_height + 24
    late_total = len(model.late)
    reasons = _error_reasons(model.errors)
    counts = ", ".join(f"{name} {n}" for name, n in model.output_counts.items())
    summary = [
        f"<b>{len(model.events)}</b> valid input records traced, <b>{late_total}</b> late, "
        f"<b>{len(model.errors)}</b> errors{': ' + escape(reasons) if reasons else ''}",
        f"outputs: {escape(counts)}",
        f"watermark: max event time so far - {options.out_of_orderness_ms} ms; allowed lateness "
        f"{options.allowed_lateness_ms} ms; keys: {escape(keys_note)}",
    ]
    if model.unmatched_late:
        summary.append(f"{model.unmatched_late} late records matched no traced event (not drawn)")
    title = options.title or f"{job}: event time"
    svg_text = (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="timeline" data-job="{_attr(job)}" data-keys="{len(lanes)}" '
        f'data-events="{len(model.events)}" data-late="{late_total}" data-errors="{len(model.errors)}" '
        f'width="{WIDTH}" height="{height:.0f}" viewBox="0 0 {WIDTH} {height:.0f}" '
        'font-family="sans-serif" font-size="11">' + "".join(svg) + "</svg>"
    )
    return _PAGE.format(
        title=escape(title),
        summary="<br>".join(summary),
        legend=_legend(model),
        svg=svg_text,
        style=_STYLE,
        script=_SCRIPT,
    )


#: Error reasons named in the header; the rest are counted.
MAX_REASONS = 5


def _error_reasons(errors: Sequence[Mapping]) -> str:
    """``reason (n); ...`` for the most frequent reasons, then ``and K more reasons (n errors)``."""
    counted = Counter(str(e.get("error", "?"))[:80] for e in errors).most_common()
    named = [f"{reason} ({n})" for reason, n in counted[:MAX_REASONS]]
    rest = counted[MAX_REASONS:]
    if rest:
        more = sum(n for _, n in rest)
        named.append(f"and {len(rest)} more reason{'s' * (len(rest) > 1)} ({more} error{'s' * (more > 1)})")
    return "; ".join(named)


def _legend(model: Model) -> str:
    """The legend of the marks this picture has: a job without windows shows no window entry, a
    run without late records no late one."""
    spans = [span for spans in model.spans.values() for span in spans]
    firings = [f for span in spans if span.kind != "timeout" for f in span.firings]
    kinds = {span.kind for span in spans}
    has = {
        "event": True,
        "behind": any(e.behind and e.late is None for e in model.events),
        "late": any(e.late is not None for e in model.events),
        "error": any("errors" in e.outputs for e in model.events),
        "watermark": any(w != -math.inf for w in model.watermarks),
        "window": "window" in kinds,
        "session": "session" in kinds,
        "trigger": "trigger" in kinds,
        "on-time": any(not f.late_update and not f.end_of_input for f in firings),
        "end-of-input": any(f.end_of_input for f in firings),
        "late-update": any(f.late_update for f in firings),
        "purge": any(span.purge_at is not None and span.purge_at != END for span in spans),
        "timeout": "timeout" in kinds,
        "pair": any(model.pairs.values()),
    }
    entries = "".join(
        f'<span data-mark="{mark}">{_LEGEND_ENTRIES[mark]}</span>' for mark, shown in has.items() if shown
    )
    return f'<div class="legend">{entries}</div>'


@dataclass
class _Frame:
    """Where a lane's marks go: x is event time over ``[lo, hi]``, y the arrival row of an event."""

    top: float  # the lane's top, its header above the plot
    indices: list[int]  # arrival indices of the drawn events, in order
    row_h: float
    lo: float
    hi: float
    header: float = 34

    @property
    def plot_top(self) -> float:
        return self.top + self.header

    @property
    def rows(self) -> int:
        return max(len(self.indices), 1) + 1  # the last row: the end of input (the final watermark)

    @property
    def plot_h(self) -> float:
        return self.rows * self.row_h

    def x(self, t: float) -> float:
        return LEFT + (min(max(t, self.lo), self.hi) - self.lo) / (self.hi - self.lo) * PLOT

    def y_event(self, e: Event) -> float:
        return self.plot_top + (bisect.bisect_left(self.indices, e.index) + 0.5) * self.row_h

    def y_at(self, at: float) -> float:
        """Between the rows drawn before arrival ``at`` and those after (END: the last row)."""
        if at == END:
            return self.plot_top + (self.rows - 0.5) * self.row_h
        return self.plot_top + bisect.bisect_left(self.indices, at) * self.row_h


def _frame(lane: _Lane, top: float, options: TimelineOptions) -> _Frame:
    events = lane.events
    times = [e.ts for e in events] + [t for s in lane.spans for t in (s.start, s.end)]
    times += [p.left.ts for p in lane.pairs] + [p.right.ts for p in lane.pairs]
    lo, hi = (float(min(times)), float(max(times))) if times else (0.0, 1000.0)
    if options.allowed_lateness_ms and lane.spans:
        hi = max(hi, max(s.end for s in lane.spans) + options.allowed_lateness_ms)
    pad = max((hi - lo) * 0.04, 1)
    return _Frame(top, [e.index for e in events], min(ROW, LANE_MAX / (max(len(events), 1) + 1)), lo - pad, hi + pad)


def _draw_lane(model: Model, lane: _Lane, top: float, options: TimelineOptions) -> tuple[str, float]:
    frame = _frame(lane, top, options)
    out = [
        f'<g class="lane" data-key="{_attr(lane.key)}" data-events="{lane.total}" '
        f'data-drawn-events="{len(lane.events)}" data-late="{lane.late}" data-spans="{len(lane.spans)}">'
    ]
    out += _draw_header(model, lane, frame)
    out += _draw_axis(frame)
    drawn = set(frame.indices)
    for span in lane.spans:
        out += _draw_span(model, span, drawn, frame, options)
    out += _draw_watermark(model, lane.events, frame, options)
    for pair in lane.pairs:
        out.append(
            f'<line class="pair" x1="{frame.x(pair.left.ts):.1f}" y1="{frame.y_event(pair.left):.1f}" '
            f'x2="{frame.x(pair.right.ts):.1f}" y2="{frame.y_event(pair.right):.1f}" '
            f'data-tip="{_tip("join pair", _record_text(pair.record))}"/>'
        )
    for e in lane.events:
        out += _draw_event(model, e, frame)
    out.append("</g>")
    return "".join(out), frame.header + frame.plot_h + 16


def _draw_header(model: Model, lane: _Lane, frame: _Frame) -> list[str]:
    stats = f"{lane.total} events, {lane.late} late, {len(model.spans.get(lane.key, []))} windows/sessions/timers"
    if lane.pairs:
        stats += f", {len(lane.pairs)} join pairs"
    top = frame.top
    out = [
        f'<text class="key" x="{LEFT}" y="{top + 14}" font-size="13" font-weight="bold">key {escape(lane.key)}</text>'
        f'<text x="{LEFT + 12 + 8 * len(lane.key) + 30}" y="{top + 14}" fill="#555">{escape(stats)}</text>'
    ]
    notes = "; ".join(n for n in (lane.sample_note, lane.span_note) if n)
    if notes:
        out.append(f'<text class="sampled" x="{LEFT}" y="{top + 28}" fill="#a15c00">{escape(notes)}</text>')
    return out


def _draw_axis(frame: _Frame) -> list[str]:
    """The plot's frame, a grid line and label per tick of event time, the arrival axis' ends."""
    plot_top, plot_h = frame.plot_top, frame.plot_h
    step = _tick_step(frame.hi - frame.lo)
    out = [
        f'<rect class="plot" x="{LEFT}" y="{plot_top:.1f}" width="{PLOT}" height="{plot_h:.1f}" '
        'fill="#fafafa" stroke="#ddd"/>'
    ]
    tick = math.ceil(frame.lo / step) * step
    while tick <= frame.hi:
        tx = frame.x(tick)
        out.append(
            f'<line x1="{tx:.1f}" y1="{plot_top:.1f}" x2="{tx:.1f}" y2="{plot_top + plot_h:.1f}" stroke="#eee"/>'
            f'<text x="{tx:.1f}" y="{plot_top + plot_h + 12:.1f}" text-anchor="middle" fill="#777">'
            f"{_short(tick, step)}</text>"
        )
        tick += step
    out.append(
        f'<text x="{LEFT - 6}" y="{plot_top + 9:.1f}" text-anchor="end" fill="#999">arrival</text>'
        f'<text x="{LEFT - 6}" y="{plot_top + plot_h - 3:.1f}" text-anchor="end" fill="#999">end</text>'
    )
    return out


def _draw_span(model: Model, span: Span, drawn: set[int], frame: _Frame, options: TimelineOptions) -> list[str]:
    """A window, session, trigger or timer: a band over its event time, from its first event's
    arrival to its last firing (or the end of its allowed lateness), and its firings."""
    x, y_at = frame.x, frame.y_at
    members = [e for e in model.in_time(span.key, span.start, span.end) if e.index in drawn]
    bottom = y_at(max((f.at for f in span.firings), default=END))
    # From its first drawn event; a window none of whose events is drawn (a sample): a sliver.
    first = frame.y_event(members[0]) - frame.row_h / 2 if members else bottom - frame.row_h
    x0, x1 = x(span.start), x(span.end)
    tip = _tip(
        f"{span.kind} [{_fmt(span.start)}, {_fmt(span.end)}) of {span.output}",
        f"{len(span.firings)} firing(s)",
        *(_record_text(f.record) for f in span.firings[:5]),
    )
    if span.kind == "timeout":
        yy = y_at(span.firings[0].at) if span.firings else bottom
        return [
            f'<line class="timer" x1="{x0:.1f}" y1="{yy:.1f}" x2="{x1:.1f}" y2="{yy:.1f}" data-tip="{tip}"/>'
            f'<path class="timeout" data-start="{span.start}" data-end="{span.end}" '
            f'd="M{x1:.1f},{yy - 6:.1f}l5,6l-5,6l-5,-6z" data-tip="{tip}"/>'
        ]
    out = [
        f'<rect class="{span.kind}" data-output="{_attr(span.output)}" data-start="{span.start}" '
        f'data-end="{span.end}" data-firings="{len(span.firings)}" x="{x0:.1f}" y="{first:.1f}" '
        f'width="{max(x1 - x0, 1):.1f}" height="{max(bottom - first, 2):.1f}" data-tip="{tip}"/>'
    ]
    # Purged by the final watermark at the end of input: nothing to show but the firing.
    if span.purge_at is not None and span.purge_at != END:
        on_time = y_at(span.firings[0].at) if span.firings else first
        purge_y = y_at(span.purge_at)
        lateness_end = x(span.end - 1 + options.allowed_lateness_ms)
        during = _tip("allowed lateness: late events still update this window")
        purged = _tip(
            f"end of allowed lateness: the watermark passed {_fmt(span.end - 1 + options.allowed_lateness_ms)}; "
            "window state purged, later events are late"
        )
        out.append(
            f'<rect class="lateness" x="{x0:.1f}" y="{on_time:.1f}" width="{max(lateness_end - x0, 1):.1f}" '
            f'height="{max(purge_y - on_time, 1):.1f}" data-tip="{during}"/>'
            f'<line class="purge" data-end="{span.end}" x1="{x0:.1f}" y1="{purge_y:.1f}" x2="{lateness_end:.1f}" '
            f'y2="{purge_y:.1f}" data-tip="{purged}"/>'
        )
    for firing in span.firings:
        out.append(_draw_firing(span, firing, x1, y_at(firing.at)))
    return out


def _draw_firing(span: Span, firing: Firing, x1: float, fy: float) -> str:
    kind = "late-update" if firing.late_update else "on-time"
    if firing.end_of_input:
        kind += " end-of-input"
    tip = _tip(
        f"firing {firing.number} ({'late update' if firing.late_update else 'on time'}) of "
        f"[{_fmt(span.start)}, {_fmt(span.end)})",
        "at the end of input (the final watermark)"
        if firing.end_of_input
        else "after the last event, on the watermark it raised"
        if firing.at == END
        else "",
        _record_text(firing.record),
    )
    return (
        f'<g class="firing {kind}" data-firing="{firing.number}" data-end="{span.end}" data-tip="{tip}">'
        f'<path d="M{x1:.1f},{fy - 5:.1f}l5,5l-5,5l-5,-5z"/>'
        f'<text x="{x1 + 7:.1f}" y="{fy + 4:.1f}">{firing.number}</text></g>'
    )


def _draw_watermark(model: Model, events: Sequence[Event], frame: _Frame, options: TimelineOptions) -> list[str]:
    """The watermark as it advanced: before each drawn event, the operators' watermark."""
    points = []
    for e in events:
        wm = model.watermarks[e.index]
        if wm == -math.inf:
            continue
        yy, half = frame.y_event(e), frame.row_h / 2
        points.append(f"{frame.x(wm):.1f},{yy - half:.1f} {frame.x(wm):.1f},{yy + half:.1f}")
    if not points:
        return []
    tip = _tip(f"watermark: max event time so far - {options.out_of_orderness_ms} ms, as each event arrived")
    return [f'<polyline class="watermark" points="{" ".join(points)}" data-tip="{tip}"/>']


def _draw_event(model: Model, e: Event, frame: _Frame) -> list[str]:
    """An event at its event time in its arrival row; a late one linked to the window it missed."""
    ex, ey = frame.x(e.ts), frame.y_event(e)
    classes = ["event"]
    if e.late is not None:
        classes.append("late")
    elif e.behind:
        classes.append("behind")
    if "errors" in e.outputs:
        classes.append("error")
    wm = model.watermarks[e.index]
    lines = [
        f"#{e.index + 1} {e.source[0]}{f' (source {e.source[1]})' if e.source[1] else ''}: event time {_fmt(e.ts)}",
        f"watermark when it arrived: {_fmt(wm)}" + (" (behind it)" if e.behind else ""),
        _record_text(e.raw),
    ]
    if e.outputs:
        lines.append("to: " + ", ".join(e.outputs))
    out = []
    missed_attr = ""
    if e.late is not None:
        where = f"[{_fmt(e.missed.start)}, {_fmt(e.missed.end)})" if e.missed else "its window"
        lines.insert(0, f"LATE: missed {where}")
        if e.missed is not None:
            missed_attr = f' data-missed-end="{e.missed.end}"'
            target = frame.y_at(e.missed.purge_at if e.missed.purge_at is not None else e.missed.firings[-1].at)
            mx = frame.x(e.missed.end)
            out.append(f'<line class="late-link" x1="{ex:.1f}" y1="{ey:.1f}" x2="{mx:.1f}" y2="{target:.1f}"/>')
    radius = 4 if frame.row_h >= 8 else max(frame.row_h / 2, 1.5)
    out.append(
        f'<circle class="{" ".join(classes)}" data-index="{e.index}" data-ts="{e.ts}"{missed_attr} '
        f'cx="{ex:.1f}" cy="{ey:.1f}" r="{radius:.1f}" data-tip="{_tip(*lines)}"/>'
    )
    if e.late is not None:
        out.append(f'<path class="late-mark" d="M{ex - 5:.1f},{ey - 5:.1f}l10,10m0,-10l-10,10" pointer-events="none"/>')
    return out


_STYLE = """
body{font-family:sans-serif;margin:16px;color:#222}
h1{font-size:18px;margin:0 0 6px}
.summary{font-size:13px;line-height:1.5;margin-bottom:8px}
.legend{font-size:12px;margin-bottom:8px}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
.window,.session,.trigger{fill:#4a90d9;fill-opacity:.13;stroke:#4a90d9;stroke-opacity:.6}
.session{fill:#2a9d8f;stroke:#2a9d8f}
.trigger{fill:#8e6cc4;stroke:#8e6cc4}
.lateness{fill:#f4a261;fill-opacity:.12;stroke:#f4a261;stroke-dasharray:4 3}
.purge{stroke:#d62828;stroke-width:2;stroke-dasharray:5 3}
.firing.on-time path{fill:#1d6fb8}
.firing.end-of-input path{fill:#fff;stroke:#1d6fb8;stroke-width:2}
.firing.late-update path{fill:#f4a261;stroke:#b35c00}
.firing text{fill:#1d3557;font-weight:bold}
.watermark{fill:none;stroke:#e63946;stroke-width:1.6}
.event{fill:#333}
.event.behind{fill:#f4a261;stroke:#b35c00}
.event.late{fill:#d62828}
.event.error{fill:#fff;stroke:#999}
.late-mark{stroke:#d62828;stroke-width:2}
.late-link{stroke:#d62828;stroke-dasharray:2 3}
.pair{stroke:#2a9d8f;stroke-width:1.2}
.timer{stroke:#8e6cc4;stroke-dasharray:3 2}
.timeout{fill:#8e6cc4}
[data-tip]{cursor:default}
#tip{position:absolute;display:none;background:#fff;border:1px solid #888;padding:6px 8px;font:12px monospace;
white-space:pre-wrap;max-width:640px;box-shadow:2px 2px 6px rgba(0,0,0,.2);pointer-events:none}
"""

_LEGEND_ENTRIES = {
    "event": '<i style="background:#333;border-radius:6px"></i>event (x: event time, y: arrival)',
    "behind": '<i style="background:#f4a261;border-radius:6px"></i>behind the watermark, still taken',
    "late": '<i style="background:#d62828;border-radius:6px"></i>late (dotted line: the window it missed)',
    "error": '<i style="background:#fff;border:1px solid #999;border-radius:6px"></i>sent to errors',
    "watermark": '<i style="background:#e63946;height:2px"></i>watermark',
    "window": '<i style="background:#4a90d9;opacity:.4"></i>window, from its first event to its last firing',
    "session": '<i style="background:#2a9d8f;opacity:.4"></i>session, from its first event to its last firing',
    "trigger": '<i style="background:#8e6cc4;opacity:.4"></i>global window, from its first event to its firing',
    "on-time": '<i style="background:#1d6fb8;transform:rotate(45deg)"></i>firing 1 (the watermark passed its end)',
    "end-of-input": '<i style="background:#fff;border:2px solid #1d6fb8;transform:rotate(45deg)"></i>'
    "fired at the end of input (the final watermark)",
    "late-update": '<i style="background:#f4a261;transform:rotate(45deg)"></i>late update 2, 3...',
    "purge": '<i style="background:#d62828;height:2px"></i>end of allowed lateness',
    "timeout": '<i style="background:#8e6cc4;transform:rotate(45deg)"></i>timeout',
    "pair": '<i style="background:#2a9d8f;height:2px"></i>join pair',
}

# Tooltips: the record under the pointer. data-timeline-ready tells a headless browser it ran.
_SCRIPT = """
(function(){
var tip=document.getElementById('tip');
document.addEventListener('mouseover',function(e){
  var t=e.target.closest?e.target.closest('[data-tip]'):null;
  if(!t){tip.style.display='none';return;}
  tip.textContent=t.getAttribute('data-tip');tip.style.display='block';});
document.addEventListener('mousemove',function(e){
  tip.style.left=(e.pageX+14)+'px';tip.style.top=(e.pageY+14)+'px';});
document.body.setAttribute('data-timeline-ready',document.querySelectorAll('#timeline .lane').length);
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{style}</style></head>
<body><h1>{title}</h1><div class="summary">{summary}</div>{legend}
{svg}
<div id="tip"></div><script>{script}</script></body></html>
"""


def options_for(config: Any, drawings: Mapping[str, Drawing]) -> TimelineOptions:
    """A run's configuration (runner/config.py) and its job's drawings -> the drawing's options."""
    own = config.options
    key_field = getattr(own, "key_field", "user_id")  # a job keyed by --key-field, else by the user
    return TimelineOptions(
        key_field=key_field,
        out_of_orderness_ms=config.event_time.out_of_orderness_ms,
        allowed_lateness_ms=getattr(own, "allowed_lateness_ms", 0),
        keys=config.timeline.keys,
        drawings=drawings,
    )


def write_timeline(
    config: Any, drawings: Mapping[str, Drawing], trace: Sequence[Mapping], outputs: Mapping[str, Sequence[Mapping]]
) -> Path:
    """Draw the run into ``config.timeline.path``; one line on stderr says where."""
    path = Path(config.timeline.path)
    html = render(trace, outputs, config.job, options_for(config, drawings))
    if path.parent != Path():
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    print(f"timeline: {path} ({len(trace)} events, {len(html) // 1024} KiB)", file=sys.stderr, flush=True)
    return path
