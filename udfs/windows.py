"""Pieces the windowed jobs share."""

from __future__ import annotations

import json

from pyflink.common import Types
from pyflink.datastream import DataStream, OutputTag

from udfs.events import original_fields


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
    """Late event rows (a window's late side output) -> ``late`` records."""
    return late_events.map(late_record, Types.STRING()).name(f"format-{name}").uid(f"format-{name}")
