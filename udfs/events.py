"""Typed event schemas and the one parser every job uses (SPEC: "Input events").

A record is *valid* when it is a JSON object whose required fields are present with the right
types and whose ``timestamp`` parses (see :func:`udfs.timeutil.parse_event_time`). Anything else
raises :class:`InvalidRecord` with a reason a person understands; the caller routes it to
``errors``. A valid record becomes a flat ``Row``: the schema's fields, then ``ts`` (event time,
epoch ms) and ``raw`` (the original text, so outputs can echo every field, including unknown ones).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass

from pyflink.common import Row, Types

from udfs.timeutil import parse_event_time

STRING = "string"
NUMBER = "number"

_TYPE_INFO = {STRING: Types.STRING(), NUMBER: Types.DOUBLE()}
_SQL_TYPE = {STRING: "STRING", NUMBER: "DOUBLE"}


class InvalidRecord(ValueError):
    """A record that cannot be used; ``str(error)`` is the reason written to ``errors``."""


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    required: bool = False


@dataclass(frozen=True)
class EventSchema:
    """One input stream's contract: its typed fields (besides ``timestamp``)."""

    name: str
    fields: tuple[Field, ...]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields] + ["ts", "raw"]

    @property
    def row_type(self):
        return Types.ROW_NAMED(self.names, [_TYPE_INFO[f.kind] for f in self.fields] + [Types.LONG(), Types.STRING()])

    @property
    def sql_columns(self) -> list[tuple[str, str]]:
        return [(f.name, _SQL_TYPE[f.kind]) for f in self.fields] + [("ts", "BIGINT"), ("raw", "STRING")]

    def parse(self, text: str) -> Row:
        """Raw text -> typed ``Row``, or :class:`InvalidRecord`."""
        record = decode_object(text)
        values = [_field_value(record, f) for f in self.fields]
        if "timestamp" not in record:
            raise InvalidRecord("missing required field 'timestamp'")
        try:
            ts = parse_event_time(record["timestamp"])
        except ValueError as error:
            raise InvalidRecord(str(error)) from None
        return Row(*values, ts, text)


def decode_object(text: str) -> dict:
    """The JSON object a line holds, or :class:`InvalidRecord` saying why not."""
    if "\ufffd" in text:
        # The sources decode bytes as UTF-8 with replacement: U+FFFD is where bytes were not UTF-8.
        raise InvalidRecord("not valid UTF-8")
    if not text.strip():
        raise InvalidRecord("empty record")
    if text.count("[") + text.count("{") > MAX_NESTING and _nested_deeper_than(text, MAX_NESTING):
        # Left to json.loads, the depth it gives up at would depend on the interpreter's stack at
        # the time: a fixed limit is one the JVM's parser (jvm/, EventParser) can share.
        raise InvalidRecord(_TOO_DEEP)
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidRecord(f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    except RecursionError:  # within MAX_NESTING only if called with a nearly full stack already
        raise InvalidRecord(_TOO_DEEP) from None
    except ValueError:  # Python refuses to convert integers longer than its digit limit
        raise InvalidRecord(f"not valid JSON: a number has more than {sys.get_int_max_str_digits()} digits") from None
    if not isinstance(record, dict):
        raise InvalidRecord(f"expected a JSON object, got {_json_kind(record)}")
    if _SURROGATE_ESCAPE.search(text):
        # A lone surrogate ("\ud800") is valid JSON but not Unicode: Flink cannot hand the string
        # back to Python (UTF-16 decoding fails and the job dies), so it must stop here.
        try:
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRecord("not valid Unicode: a string escapes a lone surrogate (\\uD800-\\uDFFF)") from None
    return record


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")

#: Levels of arrays and objects a record may nest (the record itself is level 1); deeper ones are
#: invalid. The JVM's parser (jvm/, dev.pyflink.parsing.PythonJsonReader) has the same limit.
MAX_NESTING = 500
_TOO_DEEP = "not valid JSON: nested too deeply"

#: A JSON string, a bracket, or the quote of a string that never ends.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]|"', re.DOTALL)


def _nested_deeper_than(text: str, limit: int) -> bool:
    """Whether the JSON ``text`` opens more than ``limit`` arrays/objects at once (brackets inside
    strings aside), in one pass. Exact for valid JSON; for invalid JSON either answer leaves the
    record invalid."""
    depth = 0
    for token in _JSON_TOKEN.findall(text):
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif token in ("]", "}"):
            depth -= 1
        elif token == '"':  # a string that never ends: json.loads refuses the record
            return False
    return False


def original_fields(row) -> dict:
    """The event as the producer wrote it (every field, ``timestamp`` in its original form)."""
    return json.loads(row.raw)


def _field_value(record: dict, field: Field):
    value = record.get(field.name)
    if value is None:
        if field.required:
            reason = "is null" if field.name in record else "is missing"
            raise InvalidRecord(f"required field '{field.name}' {reason}")
        return None
    if field.kind == STRING and not isinstance(value, str):
        raise InvalidRecord(f"field '{field.name}' must be a string, got {_json_kind(value)}")
    if field.kind == NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidRecord(f"field '{field.name}' must be a number, got {_json_kind(value)}")
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidRecord(f"field '{field.name}' must be a finite number")
        try:
            return float(value)
        except OverflowError:  # an integer beyond a double's range
            raise InvalidRecord(f"field '{field.name}' is too large (more than 1.8e308)") from None
    return value


def _json_kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


ACTIVITY = EventSchema(
    "activity",
    (
        Field("user_id", STRING, required=True),
        Field("action", STRING),
        Field("value", NUMBER),
        Field("tenant", STRING),
        Field("page", STRING),
    ),
)
CLICKS = EventSchema("clicks", (Field("user_id", STRING, required=True), Field("page", STRING)))
PURCHASES = EventSchema(
    "purchases",
    (Field("user_id", STRING, required=True), Field("amount", NUMBER, required=True)),
)
PROFILES = EventSchema("profiles", (Field("user_id", STRING, required=True),))
