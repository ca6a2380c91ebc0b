"""Independent brute-force references for the jobs' results, written from Flink's documented
semantics, not from the jobs' code."""

from __future__ import annotations

from collections import defaultdict


def watermarks(times: list[int], bound_ms: int) -> list[int | None]:
    """The watermark each record sees on arrival (before it), as the bridge emits them: after each
    record, max event time so far - bound."""
    seen, current = None, None
    result: list[int | None] = []
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
                # equal times by action, a missing one first
                ordered = sorted(w["events"], key=lambda e: (e[0], e[1] is not None, e[1] or ""))
                sessions.append(
                    {
                        "user_id": user,
                        "start": w["start"],
                        "last": max(t for t, _ in ordered),
                        "end": w["end"],
                        "count": len(ordered),
                        "actions": [a for _, a in ordered],
                    }
                )

    for event, wm in zip(events, marks, strict=False):
        if wm is not None:
            fire(wm)
        ts, windows = event["ts"], open_windows[event["user_id"]]
        merged = {"start": ts, "end": ts + gap_ms, "events": [(ts, event.get("action"))]}
        for w in [w for w in windows if w["start"] <= merged["end"] and merged["start"] <= w["end"]]:
            windows.remove(w)
            merged = {
                "start": min(w["start"], merged["start"]),
                "end": max(w["end"], merged["end"]),
                "events": w["events"] + merged["events"],
            }
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
    late = [e for e, wm in zip(events, marks, strict=False) if wm is not None and e["ts"] < wm]
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
    for e, wm in zip(events, watermarks([e["ts"] for e in events], bound_ms), strict=False):
        if e.get("value") is None or e["value"] < 0:
            outputs["errors"].append(e)
        elif wm is not None and e["ts"] < wm:
            outputs["late"].append(e)
        elif e.get("tenant") in tenants:
            outputs[f"tenant-{e['tenant']}"].append(e)
        else:
            outputs["valid"].append(e)
    return outputs


END_OF_TIME = 2**63 - 1


def window_firings(events: list[dict], assign, bound_ms: int, lateness_ms: int = 0) -> tuple[list[dict], list[dict]]:
    """Flink's non-merging event-time windows (sliding, tumbling) with the default event-time
    trigger and allowed lateness, by brute force.

    ``events``: ``{"key", "ts", ...}`` in arrival order; ``assign(ts)`` -> the ``(start, end)``
    windows holding ``ts``. Returns (firings, late events); a firing is ``{"key", "start", "end",
    "events" (all so far), "firing" (1, 2, ...), "late" (fired by a late event)}``.
    A window is late once ``end - 1 + lateness <= watermark`` (then dropped); it fires when the
    watermark reaches ``end - 1`` and again for each event it takes after that; an event is late
    when all of its windows are.
    """
    windows: dict[tuple, dict] = {}
    firings, late = [], []

    def fire(slot, w, is_late):
        w["fired"] += 1
        firings.append(
            {
                "key": slot[0],
                "start": slot[1],
                "end": slot[2],
                "events": list(w["events"]),
                "firing": w["fired"],
                "late": is_late,
            }
        )

    def advance(wm):
        for slot, w in sorted(windows.items(), key=lambda item: item[0][2]):
            if w["timer"] and slot[2] - 1 <= wm:
                w["timer"] = False
                fire(slot, w, False)
        for slot in [s for s in windows if s[2] - 1 + lateness_ms <= wm]:
            del windows[slot]

    for event, wm in zip(events, watermarks([e["ts"] for e in events], bound_ms), strict=False):
        if wm is not None:
            advance(wm)
        skipped = True
        for start, end in assign(event["ts"]):
            if wm is not None and end - 1 + lateness_ms <= wm:
                continue
            skipped = False
            slot = (event["key"], start, end)
            w = windows.setdefault(slot, {"events": [], "fired": 0, "timer": False})
            w["events"].append(event)
            if wm is not None and end - 1 <= wm:
                fire(slot, w, True)
            else:
                w["timer"] = True
        if skipped:
            late.append(event)
    advance(END_OF_TIME)
    return firings, late


def sliding(size_ms: int, slide_ms: int):
    """Flink's epoch-aligned sliding windows holding ``ts``."""

    def assign(ts):
        last = ts - ts % slide_ms
        return [(s, s + size_ms) for s in range(last, ts - size_ms, -slide_ms)]

    return assign


def tumbling(size_ms: int):
    return sliding(size_ms, size_ms)


def global_firings(events: list[dict], kind: str, arg, bound_ms: int) -> list[dict]:
    """``global_triggers`` by brute force (its documented semantics).

    ``events``: ``{"user_id", "ts", "value", "action"}`` in arrival order. ``count:N`` fires with
    the N-th pending event; ``condition:A`` with an event whose action is A; ``time:T`` when the
    watermark reaches (earliest pending event time) + T, or at once on arrival if that is already
    behind the watermark. Each firing takes all pending events of the user; what is pending at the
    end fires as ``end_of_input`` at its last event time.
    """
    pending: dict[str, list[dict]] = defaultdict(list)
    deadline: dict[str, int] = {}
    firings = []

    def fire(user, trigger, fired_at):
        evs = pending.pop(user)
        deadline.pop(user, None)
        times = [e["ts"] for e in evs]
        firings.append(
            {
                "user_id": user,
                "trigger": trigger,
                "fired_at": max(times) if fired_at is None else fired_at,
                "event_count": len(evs),
                "sum": sum(e.get("value") or 0 for e in evs),
                "first_event": min(times),
                "last_event": max(times),
            }
        )

    for event, wm in zip(events, watermarks([e["ts"] for e in events], bound_ms), strict=False):
        if wm is not None:
            for user, d in sorted(deadline.items(), key=lambda item: item[1]):
                if d <= wm:
                    fire(user, "time", d)
        user, ts = event["user_id"], event["ts"]
        pending[user].append(event)
        if kind == "count" and len(pending[user]) >= arg:
            fire(user, "count", ts)
        elif kind == "condition" and event.get("action") == arg:
            fire(user, "condition", ts)
        elif kind == "time":
            candidate = ts + arg
            if user not in deadline or candidate < deadline[user]:
                if wm is not None and candidate <= wm:
                    fire(user, "time", candidate)
                else:
                    deadline[user] = candidate
    for user in list(pending):
        fire(user, "end_of_input", None)
    return firings


# --- stream joins (jobs/window_join.py, interval_join.py, temporal_join.py) -------------------
# Each input is event-timed by its own watermark (max event time so far - bound). A record that
# the watermark of its own input had already covered on arrival is late and takes no part in the
# join; every other pair is joined. Events are dicts with "user_id" and "ts", in arrival order.


def split_late(events: list[dict], bound_ms: int, covered) -> tuple[list[dict], list[dict]]:
    """(on-time, late): late when ``covered(ts, watermark)`` holds for the watermark before it."""
    on_time: list[dict] = []
    late: list[dict] = []
    for event, wm in zip(events, watermarks([e["ts"] for e in events], bound_ms), strict=False):
        (late if wm is not None and covered(event["ts"], wm) else on_time).append(event)
    return on_time, late


def window_join(clicks: list[dict], purchases: list[dict], size_ms: int, bound_ms: int):
    """Tumbling window join by nested loops: ([(click, purchase, window_start)], late clicks, late
    purchases). Late: the record's window had fired (``window_end - 1 <= watermark``)."""

    def window_fired(ts, wm):
        return ts - ts % size_ms + size_ms - 1 <= wm

    c_on, c_late = split_late(clicks, bound_ms, window_fired)
    p_on, p_late = split_late(purchases, bound_ms, window_fired)
    pairs = [
        (c, p, c["ts"] - c["ts"] % size_ms)
        for c in c_on
        for p in p_on
        if c["user_id"] == p["user_id"] and c["ts"] // size_ms == p["ts"] // size_ms
    ]
    return pairs, c_late, p_late


def interval_join(clicks: list[dict], purchases: list[dict], lower_ms: int, upper_ms: int, bound_ms: int):
    """Interval join by nested loops: ([(click, purchase)], late clicks, late purchases) with
    ``click.ts + lower <= purchase.ts <= click.ts + upper``. Late: ``ts <= watermark``."""
    c_on, c_late = split_late(clicks, bound_ms, lambda ts, wm: ts <= wm)
    p_on, p_late = split_late(purchases, bound_ms, lambda ts, wm: ts <= wm)
    pairs = [
        (c, p)
        for c in c_on
        for p in p_on
        if c["user_id"] == p["user_id"] and c["ts"] + lower_ms <= p["ts"] <= c["ts"] + upper_ms
    ]
    return pairs, c_late, p_late


def temporal_join(purchases: list[dict], profiles: list[dict], bound_ms: int):
    """Event-time temporal left join: ([(purchase, version or None)], late purchases, late
    profiles). The version is the user's on-time profile with the largest ``ts <= purchase.ts``;
    of versions with equal time, the one that arrived last. Late: ``ts <= watermark``."""
    p_on, p_late = split_late(purchases, bound_ms, lambda ts, wm: ts <= wm)
    v_on, v_late = split_late(profiles, bound_ms, lambda ts, wm: ts <= wm)
    pairs = []
    for p in p_on:
        best = None
        for v in v_on:  # arrival order: a later equal-time version replaces an earlier one
            if v["user_id"] == p["user_id"] and v["ts"] <= p["ts"] and (best is None or v["ts"] >= best["ts"]):
                best = v
        pairs.append((p, best))
    return pairs, p_late, v_late
