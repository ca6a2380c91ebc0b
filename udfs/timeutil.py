"""Event-time parsing, durations and the output time format.

Times travel through the pipelines as epoch milliseconds (``int``); only the edges parse and
format them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|min|h|d)\s*$")
_UNIT_MS = {"ms": 1, "s": 1_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}

#: Event times outside [1970-01-01, 9999-12-31] are rejected: they are almost always a unit error
#: (seconds for milliseconds, microseconds, ...) and Python cannot format most of them.
MIN_EVENT_TIME_MS = 0
MAX_EVENT_TIME_MS = 253_402_300_799_999


def parse_duration(text: str) -> int:
    """``"500ms"``, ``"3s"``, ``"5min"``, ``"1h"``, ``"1d"`` -> milliseconds."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"invalid duration {text!r}: write a whole number and a unit, e.g. 500ms, 3s, 5min, 1h")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def format_duration(ms: int) -> str:
    """The shortest exact spelling of a duration, the inverse of :func:`parse_duration`."""
    for unit in ("d", "h", "min", "s"):
        if ms and ms % _UNIT_MS[unit] == 0:
            return f"{ms // _UNIT_MS[unit]}{unit}"
    return f"{ms}ms"


def parse_event_time(value) -> int:
    """An event's ``timestamp`` -> epoch milliseconds.

    Accepts an ISO-8601 string (with or without offset; a naive time is UTC) or an integer of epoch
    milliseconds. Raises ``ValueError`` with a reason a person understands.
    """
    if isinstance(value, bool):
        raise ValueError(f"timestamp must be an ISO-8601 string or epoch milliseconds, got boolean {value}")
    if isinstance(value, int):
        ms = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            if value.strip().isdigit():
                raise ValueError(
                    f"timestamp {_clip(value)!r} is not an ISO-8601 time (epoch milliseconds "
                    "must be a JSON number, not a string)"
                ) from None
            raise ValueError(f"timestamp {_clip(value)!r} is not an ISO-8601 time") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        # Exact integer arithmetic: float timestamps lose the millisecond for far-off dates.
        delta = parsed - _EPOCH
        ms = (delta.days * 86_400 + delta.seconds) * 1_000 + delta.microseconds // 1_000
    elif value is None:
        raise ValueError("timestamp is null")
    else:
        raise ValueError(
            "timestamp must be an ISO-8601 string or integer epoch milliseconds, "
            f"got {type(value).__name__} {_clip(value)}"
        )
    if not MIN_EVENT_TIME_MS <= ms <= MAX_EVENT_TIME_MS:
        raise ValueError(f"timestamp {_clip(value)} is outside 1970-01-01 .. 9999-12-31")
    return ms


def format_time(ms: int) -> str:
    """Epoch milliseconds -> ``2026-11-24T10:00:02.000Z``."""
    seconds, millis = divmod(ms, 1_000)
    return f"{_format_second(seconds)}.{millis:03d}Z"


@lru_cache(maxsize=65_536)
def _format_second(seconds: int) -> str:
    # Output records repeat the same seconds (window bounds, nearby events): strftime is the cost.
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def seconds_between(start_ms: int, end_ms: int) -> float:
    return (end_ms - start_ms) / 1_000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _clip(value, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."
