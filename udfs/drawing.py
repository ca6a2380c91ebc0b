"""How a job's output records are drawn on its ``--timeline`` (runner/timeline.py): each job says,
per output, what one of its records stands for, so that the drawing needs no knowledge of any job.

    JOB = Job(..., timeline={"windows": Windows(), "late": ...})   # late and errors: always drawn

Every drawing names the record's key field (the lane it belongs to) and the fields that hold its
times; the defaults are the field names of docs/contract.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Windows:
    """A window's result, one record per firing: a band over ``[start, end)``, a diamond per firing
    (``firing``: its number, ``late_update``: a late update, where the output has them)."""

    start: str = "window_start"
    end: str = "window_end"
    key: str = "user_id"


@dataclass(frozen=True)
class Sessions:
    """A session's result: a band from its first event to ``end`` (its last event + the gap)."""

    start: str = "session_start"
    end: str = "window_end"
    key: str = "user_id"


@dataclass(frozen=True)
class Firings:
    """A global window's firing by its trigger: from its first event to the time it fired."""

    first: str = "first_event"
    fired: str = "fired_at"
    key: str = "user_id"


@dataclass(frozen=True)
class Timeouts:
    """An event-time timer that fired: from the key's last event to the timer."""

    last: str = "last_seen"
    at: str = "timeout_at"
    key: str = "user_id"


@dataclass(frozen=True)
class WindowPairs:
    """A pair joined in a window: the two input records (whole, in ``left`` and ``right``) and the
    window they met in."""

    left: tuple[str, str] = ("clicks", "click")  # (input, field holding its record)
    right: tuple[str, str] = ("purchases", "purchase")
    start: str = "window_start"
    end: str = "window_end"
    key: str = "user_id"


@dataclass(frozen=True)
class IntervalPairs:
    """A pair joined by an interval: the event times of its two input records."""

    left: tuple[str, str] = ("clicks", "click_time")  # (input, field holding its event time)
    right: tuple[str, str] = ("purchases", "purchase_time")
    key: str = "user_id"


@dataclass(frozen=True)
class Versions:
    """A probe joined with the version of another input valid at its time (a temporal join):
    the probe, and a line to the latest version at or before it."""

    probe: tuple[str, str] = ("purchases", "timestamp")  # (input, field holding its event time)
    versions: str = "profiles"  # the input that holds the versions
    version: str = "profile"  # the field holding the version found (null: none)
    key: str = "user_id"


@dataclass(frozen=True)
class Routed:
    """An input record passed on as it came (routed to this output)."""

    time: str = "timestamp"
    key: str = "user_id"


Drawing = Windows | Sessions | Firings | Timeouts | WindowPairs | IntervalPairs | Versions | Routed
