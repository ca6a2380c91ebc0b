"""A peer's outputs against the job's: reduced to the same tuples (``bench.cases.Case.job_rows``),
compared as multisets, and every difference attributed to a cause, with counts, instead of hidden.

No peer library and no JVM is needed here (tests/unit/test_peer_compare.py).

Causes, checked in this order for each record found on one side only:

- ``window alignment``: the window's bounds are not the job's grid (start a multiple of the slide,
  length the window size; moving_average only);
- ``late handling``: the record's key has an event that arrived behind the watermark (max event
  time read so far minus the bound, in file order: :func:`behind_watermark`) with a time inside
  the record's window, or for sessions within a gap of it; the job and the peer place such events
  differently (Flink's watermark is one per reader and an event late for some of its windows still
  counts in the others; Bytewax keeps one clock per key and drops a late event from all of its
  windows at once; Quix tests each window against ``grace``);
- ``session closing``: sessions only: as above, but neither the job nor the peer reported the
  event late: both kept it, in different sessions (the job had already closed, i.e. fired, the
  session, so the event opened one of its own, while the peer, which keeps a session open
  longer, extended or merged it);
- ``other``: none of these (should be 0; listed with examples).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from bench.peers import GAP_MS, SIZE_MS, SLIDE_MS

CAUSES = ("window alignment", "late handling", "session closing", "other")


def ms(text: str) -> int:
    """``2026-11-24 10:00:02.000`` or ``2026-11-24T10:00:02.000Z`` (UTC) -> epoch milliseconds."""
    text = str(text).replace(" ", "T")
    if not text.endswith("Z") and "+" not in text[10:]:
        text += "Z"
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def behind_watermark(lines: Iterable[str], bound_ms: int) -> dict[str, list[int]]:
    """Events that arrive behind the watermark of one reader (max event time so far - bound), by
    key: ``{user_id: [event time ms, ...]}``. Every peer's watermark is at or below this one
    (Bytewax's per-key clock is the max of the key's events only), so these are the only events
    any of them can treat as late."""
    late: dict[str, list[int]] = {}
    top = None
    for line in lines:
        if not line.strip():
            continue
        event = json.loads(line)
        t = ms(event["timestamp"])
        if top is not None and t < top - bound_ms:
            late.setdefault(event["user_id"], []).append(t)
        top = t if top is None else max(top, t)
    return late


def span(job: str, row: tuple) -> tuple[int, int]:
    """The event times a comparable tuple of ``job`` covers: a window's ``[start, end)``, a
    session's ``[first - gap, last + gap]`` (an event there could have extended or merged it)."""
    if job == "sessions":
        _, first, last, _, _ = row
        return ms(first) - GAP_MS, ms(last) + GAP_MS + 1
    _, start, end, *_ = row
    return ms(start), ms(end)


def misaligned(job: str, row: tuple) -> bool:
    if job != "moving_average":
        return False
    start, end = span(job, row)
    return start % SLIDE_MS != 0 or end - start != SIZE_MS


def cause(job: str, row: tuple, late: dict[str, list[int]], dropped: set[tuple[str, int]]) -> str:
    """Why ``row`` is on one side only; ``dropped``: (key, time) of the events the job or the
    peer reported as late."""
    if misaligned(job, row):
        return "window alignment"
    lo, hi = span(job, row)
    inside = [t for t in late.get(row[0], ()) if lo <= t < hi]
    if not inside:
        return "other"
    if job == "sessions" and any((row[0], t) not in dropped for t in inside):
        return "session closing"  # both kept the event, in different sessions
    return "late handling"


def compare(
    job: str,
    job_rows: Iterable[tuple],
    peer_rows: Iterable[tuple],
    late: dict[str, list[int]],
    job_late: Iterable[tuple[str, int]] = (),
    peer_late: Iterable[tuple[str, int]] = (),
) -> dict:
    """The check of one peer: equal or not, and the records on one side only by cause
    (``job_late``, ``peer_late``: (key, event time ms) of the events each reported late)."""
    mine, theirs = Counter(job_rows), Counter(peer_rows)
    only_job, only_peer = mine - theirs, theirs - mine
    late_set = set(job_late) | set(peer_late)
    causes: dict[str, dict[str, int]] = {c: {"only_in_job": 0, "only_in_peer": 0} for c in CAUSES}
    keys: dict[str, set] = {c: set() for c in CAUSES}
    examples: dict[str, list] = {}
    for side, rows in (("only_in_job", only_job), ("only_in_peer", only_peer)):
        for row, n in rows.items():
            c = cause(job, row, late, late_set)
            causes[c][side] += n
            keys[c].add(row[0])
            if len(examples.setdefault(f"{c}: {side}", [])) < 2:
                examples[f"{c}: {side}"].append(list(row))
    return {
        "same": not only_job and not only_peer,
        "job_records": sum(mine.values()),
        "peer_records": sum(theirs.values()),
        "only_in_job": sum(only_job.values()),
        "only_in_peer": sum(only_peer.values()),
        "causes": {c: {**v, "keys": len(keys[c])} for c, v in causes.items() if v["only_in_job"] or v["only_in_peer"]},
        "examples": examples,
    }


def summary(check: dict) -> str:
    """``equal`` or ``differs: 12 late handling, 3 session closing`` (records on either side)."""
    if check.get("error"):
        return f"error: {check['error']}"
    if check["same"]:
        return "equal"
    parts = [f"{v['only_in_job'] + v['only_in_peer']} {c}" for c, v in check["causes"].items()]
    return "differs: " + ", ".join(parts)
