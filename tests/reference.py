"""Independent brute-force references for the jobs' results, written from Flink's documented
semantics, not from the jobs' code."""

from __future__ import annotations

from collections import defaultdict


def watermarks(times: list[int], bound_ms: int) -> list[int | None]:
    """The watermark each record sees on arrival (before it), as the bridge emits them: after each
    record, max event time so far - bound."""
    seen, current, result = None, None, []
    for t in times:
        result.append(current)
        seen = t if seen is None else max(seen, t)
        current = seen - bound_ms
    return result


def sessionize(events: list[dict], gap_ms: int, bound_ms: int) -> tuple[list[dict], list[dict]]:
    """Flink event-time session windows with allowed lateness 0, by brute force.

    ``events``: ``{"user_id", "ts", "action"}`` in arrival order. Returns (sessions, late events).
    A new event opens ``[ts, ts + gap)`` and merges every open window of its user it intersects
    (touching counts); if the merged window already ended (``end - 1 <= watermark``) the event is
    late. After each event, windows with ``end - 1 <= watermark`` fire and are dropped; at the end
    of input all fire.
    """
    open_windows: dict[str, list[dict]] = defaultdict(list)
    sessions, late = [], []
    marks = watermarks([e["ts"] for e in events], bound_ms)

    def fire(until):
        for user, windows in open_windows.items():
            for w in [w for w in windows if until is None or w["end"] - 1 <= until]:
                windows.remove(w)
                ordered = sorted(w["events"], key=lambda e: e[0])  # stable: arrival order on ties
                sessions.append({"user_id": user, "start": w["start"], "last": max(t for t, _ in ordered),
                                 "end": w["end"], "count": len(ordered), "actions": [a for _, a in ordered]})

    for event, wm in zip(events, marks):
        if wm is not None:
            fire(wm)
        ts, windows = event["ts"], open_windows[event["user_id"]]
        merged = {"start": ts, "end": ts + gap_ms, "events": [(ts, event.get("action"))]}
        for w in [w for w in windows if w["start"] <= merged["end"] and merged["start"] <= w["end"]]:
            windows.remove(w)
            merged = {"start": min(w["start"], merged["start"]), "end": max(w["end"], merged["end"]),
                      "events": w["events"] + merged["events"]}
        if wm is not None and merged["end"] - 1 <= wm:
            late.append(event)
            if len(merged["events"]) > 1:  # the late event's merge is undone: put the others back
                raise AssertionError("a late window cannot hold earlier events (they would have fired)")
            continue
        windows.append(merged)
    fire(None)
    return sessions, late
