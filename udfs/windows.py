"""Pieces the windowed jobs share."""

from __future__ import annotations

import json

from pyflink.common import Types
from pyflink.datastream import DataStream, OutputTag
from pyflink.datastream.functions import KeySelector
from pyflink.datastream.state import ValueStateDescriptor

from udfs.events import original_fields
from udfs.eventtime import stamped, stamped_type
from udfs.job import duration, option
from udfs.timeutil import format_time


def late_tag(name: str = "late") -> OutputTag:
    """A side output for a window's late events.

    Typed as pickled bytes: PyFlink pickles the window operation together with its late-data tag,
    and a tag whose type is a ``ROW_NAMED`` does not pickle once its Java type has been created
    (the nested field types keep their py4j objects). Late records are rare; pickling them is cheap.
    """
    return OutputTag(name, Types.PICKLED_BYTE_ARRAY())


def late_record(event, **extra) -> str:
    """A late event as its producer wrote it, plus what the job adds (e.g. the ``window_end`` it missed)."""
    return json.dumps({**original_fields(event), **extra}, ensure_ascii=False)


def late_records(late_events: DataStream, name: str = "late") -> DataStream:
    """Late event rows (a window's late side output) -> ``late`` records, timestamped with their
    event time (the side output carries none)."""
    pairs = late_events.map(lambda event: (late_record(event), event.ts), stamped_type())
    return stamped(pairs.name(f"format-{name}").uid(f"format-{name}"), name)


def window_start(ts: int, size_ms: int) -> int:
    """Start of the epoch-aligned window of ``size_ms`` (or slide) holding ``ts``: Flink's
    ``TimeWindow.get_window_start_with_offset`` with offset 0."""
    return ts - ts % size_ms


class FieldKey(KeySelector):
    """Keys events by any field of the event, as JSON text (``"Alice"``, ``3.0``, ``null``).

    A schema column is read from the typed row; any other field from the original record, so
    ``--key-field region`` works for fields the schema does not know. Keying by the JSON text
    keeps missing fields (null) and non-string values usable as keys; :func:`key_value` turns
    the key back into the value for the output. ``field=None`` keys every event by ``null``
    (one global stream).
    """

    def __init__(self, field: str | None, schema_fields: list[str]):
        self.field = field
        self.typed = field in schema_fields

    def get_key(self, event) -> str:
        if self.field is None:
            return "null"
        value = getattr(event, self.field) if self.typed else original_fields(event).get(self.field)
        return json.dumps(value, ensure_ascii=False, sort_keys=True)


def key_value(key: str):
    """A :class:`FieldKey` key -> the field's value."""
    return json.loads(key)


#: Why a window fired, written by a trigger and read by the window function of the same firing:
#: both see the same per-key, per-window state (the trigger via ``get_partitioned_state``, the
#: function via ``context.window_state()``).
FIRING_NOTE = ValueStateDescriptor("firing-note", Types.PICKLED_BYTE_ARRAY())


def note_firing(ctx, **note) -> None:
    """In a ``Trigger``: record why (and when) the window is about to fire."""
    ctx.get_partitioned_state(FIRING_NOTE).update(note)


def firing_note(context) -> dict:
    """In a ``ProcessWindowFunction``: the note of the firing being processed."""
    return context.window_state().get_state(FIRING_NOTE).value() or {}


def take_firing_note(context) -> dict:
    """:func:`firing_note`, then cleared: for a window that outlives its firings (a
    ``GlobalWindow``, which Flink never cleans up), so that a key's state ends with its firing."""
    note = context.window_state().get_state(FIRING_NOTE)
    taken = note.value() or {}
    note.clear()
    return taken


def late_records_missing(late_events: DataStream, size_ms: int, name: str = "late") -> DataStream:
    """Late event rows of a tumbling window of ``size_ms`` -> ``late`` records with the
    ``window_end`` each one missed, timestamped with their event time."""
    pairs = late_events.map(
        lambda event: (late_record(event, window_end=format_time(window_start(event.ts, size_ms) + size_ms)), event.ts),
        stamped_type(),
    )
    return stamped(pairs.name(f"format-{name}").uid(f"format-{name}"), name)


def allowed_lateness_option(of: str = "window"):
    """The ``--allowed-lateness`` option of a windowed job's options dataclass."""
    return option(
        "--allowed-lateness", duration, "0ms", f"how long after its end a {of} still takes late events (default 0)"
    )
