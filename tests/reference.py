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


def inactivity_timeouts(events: list[dict], timeout_ms: int, bound_ms: int) -> tuple[list[dict], list[dict]]:
    """Per-user inactivity timeouts by brute force: (timeouts, late events).

    ``events``: ``{"user_id", "ts"}`` in arrival order. An event behind the watermark on arrival
    (``ts < watermark``) is late. The others, per user in event-time order, are cut wherever the next
    event is MORE than ``timeout_ms`` later; every run of events ends with one timeout
    ``{"user_id", "last", "count"}`` (its last event time and its number of events).
    """
    marks = watermarks([e["ts"] for e in events], bound_ms)
    late = [e for e, wm in zip(events, marks) if wm is not None and e["ts"] < wm]
    late_ids = {id(e) for e in late}
    times: dict[str, list[int]] = defaultdict(list)
    for e in events:
        if id(e) not in late_ids:
            times[e["user_id"]].append(e["ts"])
    timeouts = []
    for user, ts in times.items():
        ts.sort()
        count = 0
        for i, t in enumerate(ts):
            count += 1
            if i + 1 == len(ts) or ts[i + 1] - t > timeout_ms:
                timeouts.append({"user_id": user, "last": t, "count": count})
                count = 0
    return timeouts, late


def route(events: list[dict], bound_ms: int, tenants: list[str]) -> dict[str, list[dict]]:
    """The event router's outputs by brute force: ``{output: [events]}``.

    ``events``: the records that parse (they alone move the watermark), in arrival order, as dicts
    with ``ts`` and optionally ``value``, ``tenant``. First match wins: ``value`` missing, null or
    negative -> errors; behind the watermark -> late; a listed tenant -> ``tenant-<name>``; else valid.
    """
    outputs: dict[str, list[dict]] = {"valid": [], "late": [], "errors": [], **{f"tenant-{t}": [] for t in tenants}}
    for e, wm in zip(events, watermarks([e["ts"] for e in events], bound_ms)):
        if e.get("value") is None or e["value"] < 0:
            outputs["errors"].append(e)
        elif wm is not None and e["ts"] < wm:
            outputs["late"].append(e)
        elif e.get("tenant") in tenants:
            outputs[f"tenant-{e['tenant']}"].append(e)
        else:
            outputs["valid"].append(e)
    return outputs
