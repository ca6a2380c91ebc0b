"""The JVM's event parser (jvm/, ``dev.pyflink.parsing.EventParser``) against Python's
``EventSchema.parse`` (udfs/events.py): the same decision on every line, and for an accepted line the
same row (strings equal, doubles bit for bit, ``ts`` equal). Valid lines will be parsed in the JVM and
only the ones it refuses reach Python, so any difference would change a job's results.

Two sets of lines, each parsed by every schema: hand-written edge cases, one per rule of
``decode_object`` (Python's json.loads and the project's rules), ``_field_value`` and
``parse_event_time`` (Python 3.11's ``datetime.fromisoformat``); and lines from a seeded generator:
records with random field types and values, timestamps from a grammar of every ISO form
``fromisoformat`` knows with random one-character mutations, and random mutations of whole lines.
"""

from __future__ import annotations

import json
import math
import random
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from decimal import Context, Decimal

import pytest
from pyflink.java_gateway import get_gateway
from pyflink.util.java_utils import add_jars_to_context_class_loader

from runner.jars import JARS, functions_jar
from udfs.events import (
    ACTIVITY,
    CLICKS,
    MAX_NESTING,
    NUMBER,
    PROFILES,
    PURCHASES,
    EventSchema,
    InvalidRecord,
    decode_object,
)

SCHEMAS = (ACTIVITY, CLICKS, PURCHASES, PROFILES)
SEED = 20_261_128
GENERATED = 40_000
#: Lines per py4j call (each parsed by every schema).
BATCH = 10_000


# --- the two parsers -------------------------------------------------------------------------------
def python_describe(schema: EventSchema, text: str) -> str:
    """Python's result in the form ``EventParserProbe.describeAll`` writes Java's."""
    try:
        row = schema.parse(text)
    except Exception:  # the caller takes any exception for an invalid record
        return "!"
    *values, raw = row
    parts = []
    for value in values:
        if value is None:
            parts.append("n")
        elif isinstance(value, str):
            parts.append("s" + value.encode("utf-8").hex())
        elif isinstance(value, float):
            parts.append("d" + struct.pack(">d", value).hex())
        else:
            parts.append(f"l{value}")
    parts.append(f"r{len(raw)}:{zlib.crc32(raw.encode('utf-8')):x}")
    return "|".join(parts)


def batches(texts: list[str]):
    """``texts`` in batches of :data:`BATCH` lines, each written as ``EventParserProbe`` reads it
    (a line's length in code points, ':', the line)."""
    for start in range(0, len(texts), BATCH):
        yield "".join(f"{len(text)}:{text}" for text in texts[start : start + BATCH])


@pytest.fixture(scope="module")
def java_describe() -> Callable[[list[str]], dict[str, list[str]]]:
    jar, probe_jar = functions_jar(), JARS / "test" / "pyflink-jobs-tests.jar"
    if (
        not probe_jar.exists()
        or "dev/pyflink/parsing/EventParserProbe.class" not in zipfile.ZipFile(probe_jar).namelist()
    ):
        pytest.fail(f"{probe_jar} predates the Java tests' EventParserProbe: run `make setup`")
    gateway = get_gateway()
    add_jars_to_context_class_loader([jar.resolve().as_uri(), probe_jar.resolve().as_uri()])
    parsing = gateway.jvm.dev.pyflink.parsing

    def java_array(java_type, values):
        array = gateway.new_array(java_type, len(values))
        for i, value in enumerate(values):
            array[i] = value
        return array

    parsers = java_array(
        parsing.EventParser,
        [
            parsing.EventParser(
                java_array(gateway.jvm.String, [f.name for f in schema.fields]),
                java_array(gateway.jvm.String, [f.kind for f in schema.fields]),
                java_array(gateway.jvm.boolean, [f.required for f in schema.fields]),
            )
            for schema in SCHEMAS
        ],
    )

    def describe(texts: list[str]) -> dict[str, list[str]]:
        """Java's results per schema name."""
        described = (parsing.EventParserProbe.describeAll(parsers, batch) for batch in batches(texts))
        out = [line for text in described for line in text.split("\n")[:-1]]
        assert len(out) == len(texts) * len(SCHEMAS)
        return {schema.name: out[i :: len(SCHEMAS)] for i, schema in enumerate(SCHEMAS)}

    return describe


@pytest.fixture(scope="module")
def java_dumps_loads(java_describe) -> Callable[[list[str]], list[str]]:
    """``JsonRoundTrip.dumpsLoads`` of each line ``decode_object`` accepts, "!" for the others
    (``EventParserProbe.dumpsLoadsAll``; ``java_describe`` has put the jars on the class path)."""
    parsing = get_gateway().jvm.dev.pyflink.parsing

    def dumps_loads(texts: list[str]) -> list[str]:
        written = (parsing.EventParserProbe.dumpsLoadsAll(batch) for batch in batches(texts))
        out = [line for text in written for line in text.split("\n")[:-1]]
        assert len(out) == len(texts)
        return out

    return dumps_loads


def python_dumps_loads(text: str) -> str:
    """What a job writes for a routed record: ``json.dumps(json.loads(raw), ensure_ascii=False)``."""
    try:
        return json.dumps(decode_object(text), ensure_ascii=False)
    except InvalidRecord:
        return "!"


def assert_same_round_trip(java_dumps_loads, texts: list[str]) -> int:
    """The JVM's round trip of every accepted line is Python's, byte for byte; the accepted count."""
    python = [python_dumps_loads(text) for text in texts]
    java = java_dumps_loads(texts)
    mismatches = [(text, p, j) for text, p, j in zip(texts, python, java, strict=True) if p != j]
    for text, p, j in mismatches[:8]:
        print(f"{text[:300]!r}\n  python {p[:300]!r}\n  java   {j[:300]!r}")
    assert not mismatches, f"{len(mismatches)} of {len(texts)} round trips differ"
    return sum(p != "!" for p in python)


def assert_same(java_describe, texts: list[str]) -> dict[str, int]:
    """Both parsers on every line with every schema; the accepted count per schema."""
    accepted = {}
    results = java_describe(texts)
    for schema in SCHEMAS:
        java = results[schema.name]
        python = [python_describe(schema, text) for text in texts]
        mismatches = [(text, p, j) for text, p, j in zip(texts, python, java, strict=True) if p != j]
        for text, p, j in mismatches[:8]:
            print(f"{schema.name}: {text[:300]!r}")
            if "!" in (p, j):
                print(f"  python {p[:200]}\n  java   {j[:200]}")
            else:
                for i, (pf, jf) in enumerate(zip(p.split("|"), j.split("|"), strict=True)):
                    if pf != jf:
                        print(f"  field {i}: python {pf[:200]}, java {jf[:200]}")
        assert not mismatches, f"{len(mismatches)} of {len(texts)} lines differ with schema {schema.name}"
        accepted[schema.name] = sum(p != "!" for p in python)
    return accepted


# --- hand-written edge cases ----------------------------------------------------------------------
def rec(timestamp: str = '"2026-11-24T10:00:02Z"', **members: str) -> str:
    """A record valid for every schema, ``timestamp`` and members given as JSON text."""
    fields = {"user_id": '"u1"', "amount": "2.5", "value": "1", **members, "timestamp": timestamp}
    return "{" + ",".join(f'"{k}":{v}' for k, v in fields.items() if v is not None) + "}"


def ts(text: str) -> str:
    """A record whose timestamp is the string ``text``."""
    return rec(json.dumps(text, ensure_ascii=False))


EXACT = Context(prec=2000)  # enough digits for any double, and for the midpoint of two


def halfway_above(x: float) -> str:
    """The decimal exactly between ``x`` and the next double up (rounds to the even one)."""
    return str(EXACT.divide(EXACT.add(Decimal(x), Decimal(math.nextafter(x, math.inf))), 2))


HALF_ULP_ABOVE_ONE = halfway_above(1.0)
MAX_DOUBLE_INT = int(sys.float_info.max)
ULP_AT_MAX = 2**971

EDGE_CASES: list[tuple[str, str]] = [
    # decode_object's own rules
    ("valid", rec()),
    ("raw U+FFFD: not UTF-8", rec(tenant='"a\ufffd"')),
    ("escaped U+FFFD is fine", rec(tenant='"a\\ufffd"')),
    ("empty line", ""),
    ("blank line", " \t "),
    ("Unicode-blank line", "\u2003\u00a0"),
    ("not an object: array", "[1,2]"),
    ("not an object: string", '"x"'),
    ("not an object: number", "5"),
    ("not an object: null", "null"),
    ("BOM before the object", "\ufeff" + rec()),
    ("lone high surrogate escape in a value", rec(tenant='"\\ud800"')),
    ("lone low surrogate escape in a value", rec(tenant='"a\\udc00b"')),
    ("escaped pair is one character", rec(tenant='"\\ud83d\\ude00"')),
    ("escaped pair, upper-case hex", rec(tenant='"\\uD83D\\uDE00"')),
    ("escaped pair split by a character", rec(tenant='"\\ud83d x\\ude00"')),
    ("high, then a pair", rec(tenant='"\\ud83d\\ud83d\\ude00"')),
    ("low then high: both lone", rec(tenant='"\\ude00\\ud83d"')),
    ("high then an escaped non-surrogate", rec(tenant='"\\ud83d\\u0041"')),
    ("lone surrogate in a key", rec(**{"\\udfff": "1"})),
    ("lone surrogate deep in a nested value", rec(extra='[1,{"a":["\\ud800"]}]')),
    ("lone surrogate overwritten by a duplicate key: valid", '{"x":"\\ud800","x":1,' + rec()[1:]),
    ("... by the same key spelled with an escape", '{"x":"\\ud800","\\u0078":1,' + rec()[1:]),
    ("... by a different key: invalid", '{"x":"\\ud800","\\u0079":1,' + rec()[1:]),
    ("lone surrogate overwriting a good value", '{"x":1,"x":"\\ud800",' + rec()[1:]),
    ("nested duplicate overwrites a lone surrogate", rec(extra='{"a":"\\ud800","a":2}')),
    ("nested duplicate, lone surrogate last", rec(extra='{"a":2,"a":"\\ud800"}')),
    ("escaped backslash then u-d800 text is no surrogate", rec(tenant='"\\\\ud800"')),
    ("raw non-BMP character", rec(tenant='"😀"')),
    ("nested 499 deep under the record (500 levels)", rec(extra="[" * 499 + "]" * 499)),
    (
        "500 levels and a surrogate escape (json.dumps at the limit)",
        rec(extra="[" * 499 + '"\\ud83d\\ude00"' + "]" * 499),
    ),
    ("500 levels, mixed arrays and objects", rec(extra='[{"a":' * 249 + "[]" + "}]" * 249)),
    ("nested 500 deep under the record (501 levels)", rec(extra="[" * 500 + "]" * 500)),
    ("objects nested 500 levels", rec(extra='{"a":' * 499 + "1" + "}" * 499)),
    ("objects nested 501 levels", rec(extra='{"a":' * 500 + "1" + "}" * 500)),
    ("brackets inside a string do not nest", rec(extra='"' + "[" * 600 + '"')),
    ("escaped quote then brackets in a string", rec(extra='"\\"' + "{" * 600 + '"')),
    ("deep nesting in an invalid line", "[" * 600),
    # json.loads' grammar
    ("whitespace everywhere", ' \t\n\r{ "user_id" : "u" ,\n"timestamp"\t:\r0 } \n'),
    ("vertical tab is not JSON whitespace", "\x0b" + rec()),
    ("form feed is not JSON whitespace", rec() + "\x0c"),
    ("NBSP between tokens", '{"user_id":\u00a0"u","timestamp":0}'),
    ("trailing data", rec() + "x"),
    ("two objects", rec() + rec()),
    ("trailing comma in the object", rec()[:-1] + ",}"),
    ("trailing comma in an array", rec(extra="[1,]")),
    ("missing comma", '{"user_id":"u" "timestamp":0}'),
    ("single-quoted key", '{\'user_id\':"u","timestamp":0}'),
    ("unquoted key", '{user_id:"u","timestamp":0}'),
    ("empty key", rec(**{"": "1"})),
    ("unterminated string", '{"user_id":"u'),
    ("unterminated object", rec()[:-1]),
    ("raw control character in a string", rec(tenant='"a\x01b"')),
    ("raw \\x1f in a string", rec(tenant='"a\x1fb"')),
    ("raw tab in a string", rec(tenant='"a\tb"')),
    ("raw DEL in a string is fine", rec(tenant='"a\x7fb"')),
    ("raw NUL in a string", rec(tenant='"a\x00b"')),
    ("escaped NUL in a string", rec(tenant='"a\\u0000b"')),
    ("every short escape", rec(tenant='"\\"\\\\\\/\\b\\f\\n\\r\\t"')),
    ("invalid escape \\x", rec(tenant='"\\x41"')),
    ("invalid escape \\U", rec(tenant='"\\U0041"')),
    ("invalid escape \\'", rec(tenant='"\\\'"')),
    ("short \\u escape", rec(tenant='"\\u12"')),
    ("\\u with a non-hex digit", rec(tenant='"\\u12g4"')),
    ("\\u with full-width digits", rec(tenant='"\\u\uff11\uff12\uff13\uff14"')),
    ("escaped key names the field", '{"\\u0075ser_id":"u","timestamp":0}'),
    ("escaped key names the timestamp", '{"user_id":"u","time\\u0073tamp":0}'),
    ("literals", rec(extra="[true,false,null]")),
    ("True is no literal", rec(extra="True")),
    ("nul is no literal", rec(extra="nul")),
    ("NaN, Infinity, -Infinity are numbers", rec(extra="[NaN,Infinity,-Infinity]")),
    ("-NaN is not", rec(extra="-NaN")),
    ("+Infinity is not", rec(extra="+Infinity")),
    ("nan is not", rec(extra="nan")),
    ("leading zero", rec(extra="01")),
    ("-01", rec(extra="-01")),
    ("trailing dot", rec(extra="1.")),
    ("leading dot", rec(extra=".5")),
    ("plus sign", rec(extra="+1")),
    ("bare minus", rec(extra="-")),
    ("exponent without digits", rec(extra="1e")),
    ("exponent sign without digits", rec(extra="1e+")),
    ("hex number", rec(extra="0x10")),
    ("upper-case exponent", rec(value="1E2")),
    ("int of 4300 digits", rec(extra="9" * 4300)),
    ("int of 4301 digits: over Python's limit", rec(extra="9" * 4301)),
    ("negative int of 4300 digits", rec(extra="-" + "9" * 4300)),
    ("float with 5000 digits has no limit", rec(extra="1" * 5000 + ".0")),
    ("float with a 4301-digit mantissa and exponent", rec(extra="1" * 4301 + "e-4300")),
    # _field_value
    ("required string missing", '{"timestamp":0}'),
    ("required string null", rec(user_id="null")),
    ("required string a number", rec(user_id="5")),
    ("required string an array", rec(user_id='["u"]')),
    ("optional string null", rec(tenant="null")),
    ("optional string a bool", rec(tenant="true")),
    ("optional string an object", rec(tenant="{}")),
    ("string field, empty string", rec(tenant='""')),
    ("duplicate field: the last wins", '{"user_id":"a","user_id":"b","timestamp":0}'),
    ("duplicate field spelled with an escape", '{"user_id":"a","\\u0075ser_id":"b","timestamp":0}'),
    ("duplicate field: the last is null", '{"user_id":"a","user_id":null,"timestamp":0}'),
    ("number null", rec(value="null", amount="null")),
    ("number missing", '{"user_id":"u","timestamp":0}'),
    ("number a string", rec(value='"1"', amount='"1"')),
    ("number a bool", rec(value="true", amount="false")),
    ("number an array", rec(value="[1]", amount="[1]")),
    ("number NaN", rec(value="NaN", amount="NaN")),
    ("number Infinity", rec(value="Infinity", amount="Infinity")),
    ("number -Infinity", rec(value="-Infinity", amount="-Infinity")),
    ("number 1e400 is inf", rec(value="1e400", amount="1e400")),
    ("number -1e400 is -inf", rec(value="-1e400", amount="-1e400")),
    ("number 1e-400 is 0.0", rec(value="1e-400", amount="1e-400")),
    ("number -1e-400 is -0.0", rec(value="-1e-400", amount="-1e-400")),
    ("int -0 is 0.0", rec(value="-0", amount="-0")),
    ("float -0.0 is -0.0", rec(value="-0.0", amount="-0.0")),
    ("-0e0 is -0.0", rec(value="-0e0", amount="-0e0")),
    ("int 2**53+1 rounds to even", rec(value=str(2**53 + 1), amount=str(2**53 + 3))),
    ("float halfway above 1.0 rounds to even", rec(value=HALF_ULP_ABOVE_ONE, amount=HALF_ULP_ABOVE_ONE + "1")),
    ("largest double as an int", rec(value=str(MAX_DOUBLE_INT), amount=str(MAX_DOUBLE_INT + ULP_AT_MAX // 2 - 1))),
    ("int halfway past the largest double overflows", rec(value=str(MAX_DOUBLE_INT + ULP_AT_MAX // 2))),
    ("int of 400 digits overflows", rec(amount="1" + "0" * 400)),
    ("smallest subnormal", rec(value="5e-324", amount="2.4703282292062328e-324")),
    ("exponent with many digits", rec(value="1e0000000000000000000002", amount="1e-99999999999999999999")),
    ("exponent past a Java int", rec(value="1e2147483648", amount="0e2147483648")),
    ("negative exponent past a Java int", rec(value="1e-2147483649", amount="123456789e-2147483648")),
    ("tiny mantissa, huge exponent", rec(value="0.0000001e2147483647", amount="100000e-2147483650")),
    # parse_event_time: kinds
    ("timestamp missing", '{"user_id":"u","amount":1}'),
    ("timestamp null", rec("null")),
    ("timestamp true", rec("true")),
    ("timestamp false", rec("false")),
    ("timestamp a float", rec("1.5e12")),
    ("timestamp an integral float", rec("1000.0")),
    ("timestamp an array", rec("[0]")),
    ("timestamp an object", rec('{"ms":0}')),
    ("timestamp NaN", rec("NaN")),
    ("timestamp int 0", rec("0")),
    ("timestamp int -0", rec("-0")),
    ("timestamp int -1", rec("-1")),
    ("timestamp int, minus the upper bound", rec("-253402300799999")),
    ("timestamp int at the upper bound", rec("253402300799999")),
    ("timestamp int past the upper bound", rec("253402300800000")),
    ("timestamp int of 19 digits", rec("9223372036854775807")),
    ("timestamp int of 20 digits", rec("92233720368547758070")),
    ("timestamp int of 30 digits", rec("1" + "0" * 29)),
    ("timestamp digits in a string", ts("1732442402000")),
    ("timestamp empty string", ts("")),
    # parse_event_time: str.strip() takes Unicode whitespace
    ("leading and trailing spaces", ts("  2026-11-24T10:00:02Z  ")),
    ("NBSP and em space around", ts("\u00a02026-11-24T10:00:02Z\u2003")),
    ("ideographic space, line separator", ts("\u30002026-11-24T10:00:02\u2028")),
    ("file separator (\\x1c) is whitespace", ts("\x1c2026-11-24T10:00:02\x1f")),
    ("NEL (\\x85) is whitespace", ts("\x852026-11-24T10:00:02")),
    ("zero-width space is not", ts("\u200b2026-11-24T10:00:02")),
    ("BOM is not", ts("2026-11-24T10:00:02\ufeff")),
    # fromisoformat: dates
    ("date only", ts("2026-11-24")),
    ("basic date", ts("20261124")),
    ("basic date and time", ts("20261124T100002")),
    ("mixed extended date", ts("2026-1124")),
    ("mixed basic date", ts("202611-24")),
    ("ISO week date", ts("2026-W48")),
    ("ISO week and day", ts("2026-W48-2")),
    ("basic week", ts("2026W48")),
    ("basic week and day", ts("2026W482")),
    ("basic week then time", ts("2026W48T10")),
    ("basic week, day, time", ts("2026W482T1000")),
    ("week 53 of a long year", ts("2020-W53-7")),
    ("week 53 of a short year", ts("2021-W53")),
    ("week 53 of a leap year starting Wednesday", ts("1992-W53-1")),
    ("week 0", ts("2026-W00")),
    ("week day 0", ts("2026-W01-0")),
    ("week day 8", ts("2026-W01-8")),
    ("week date in year 10000", ts("9999-W52-6")),
    ("last day by week", ts("9999-W52-5")),
    ("ambiguous YYYY-Www-##", ts("2020-W01-0000")),
    ("YYYY-Www-D without time", ts("2020-W01-")),
    ("ordinal date is not accepted", ts("2026-328")),
    ("year 0", ts("0000-01-01")),
    ("year 1 (before the epoch)", ts("0001-01-01")),
    ("year 9999", ts("9999-12-31T23:59:59.999999")),
    ("month 0", ts("2026-00-10")),
    ("month 13", ts("2026-13-10")),
    ("day 0", ts("2026-01-00")),
    ("Feb 29 of a leap year", ts("2024-02-29")),
    ("Feb 29 of a common year", ts("2023-02-29")),
    ("Feb 29, 1900", ts("1900-02-29")),
    ("Feb 29, 2000", ts("2000-02-29")),
    ("April 31", ts("2026-04-31")),
    ("short year", ts("226-11-24")),
    ("five-digit year", ts("20260-11-24")),
    ("non-ASCII digit in the date", ts("2026-1\u0661-24")),
    # fromisoformat: separator
    ("space separator", ts("2026-11-24 10:00:02")),
    ("lower-case t", ts("2026-11-24t10:00:02")),
    ("any letter separates", ts("2026-11-24x10:00:02")),
    ("two-byte UTF-8 separator", ts("2026-11-24é10:00:02")),
    ("three-byte UTF-8 separator", ts("2026-11-24€10:00:02")),
    ("four-byte UTF-8 separator", ts("2026-11-24😀10:00:02")),
    ("NUL separator", ts("2026-11-24\x0010:00:02")),
    ("digit separator", ts("2026-11-24510:00:02")),
    ("no separator", ts("2026-11-2410:00:02")),
    ("separator and nothing after", ts("2026-11-24T")),
    ("two separators", ts("2026-11-24TT10:00")),
    # fromisoformat: time
    ("hour only", ts("2026-11-24T10")),
    ("hour and minute", ts("2026-11-24T10:00")),
    ("basic hour and minute", ts("2026-11-24T1000")),
    ("basic time", ts("2026-11-24T100002")),
    ("one-digit hour", ts("2026-11-24T1")),
    ("three-digit time", ts("2026-11-24T100")),
    ("one-digit minute", ts("2026-11-24T10:0")),
    ("mixed separators 10:0002", ts("2026-11-24T10:0002")),
    ("mixed separators 1000:02", ts("2026-11-24T1000:02")),
    ("hour 24", ts("2026-11-24T24:00")),
    ("hour 23", ts("2026-11-24T23:59:59")),
    ("minute 60", ts("2026-11-24T10:60")),
    ("second 60", ts("2026-11-24T10:00:60")),
    ("fraction .5", ts("2026-11-24T10:00:02.5")),
    ("fraction ,5", ts("2026-11-24T10:00:02,5")),
    ("fraction of 3 digits", ts("2026-11-24T10:00:02.123")),
    ("fraction of 6 digits", ts("2026-11-24T10:00:02.123456")),
    ("fraction of 7 digits is truncated", ts("2026-11-24T10:00:02.1234569")),
    ("fraction of 20 digits", ts("2026-11-24T10:00:02.99999999999999999999")),
    ("500 µs before the epoch: the floor, -1 ms, not 0", ts("1969-12-31T23:59:59.9995")),
    ("fraction after the minute", ts("2026-11-24T10:00.5")),
    ("fraction after the hour", ts("2026-11-24T10.5")),
    ("fraction without digits", ts("2026-11-24T10:00:02.")),
    ("fraction with a letter", ts("2026-11-24T10:00:02.1a")),
    ("fraction after a colon (C quirk)", ts("2026-11-24T10:00:02:5")),
    ("basic time then digits as a fraction (C quirk)", ts("2026-11-24T10000212")),
    ("basic time then one digit", ts("2026-11-24T1000021")),
    ("NUL after the hour ends the string (C quirk)", ts("2026-11-24T10\x00")),
    ("NUL inside the fraction", ts("2026-11-24T10:00:02.123\x00abc")),
    ("NUL in the middle of the time", ts("2026-11-24T10\x00:00")),
    # fromisoformat: offset
    ("Z", ts("2026-11-24T10:00:02Z")),
    ("z is not Z", ts("2026-11-24T10:00:02z")),
    ("Z then text", ts("2026-11-24T10:00:02Zx")),
    ("Z then NUL then text (C quirk)", ts("2026-11-24T10:00:02Z\x00x")),
    ("+HH", ts("2026-11-24T10:00:02+05")),
    ("-HH", ts("2026-11-24T10:00:02-05")),
    ("+HHMM", ts("2026-11-24T10:00:02+0530")),
    ("+HH:MM", ts("2026-11-24T10:00:02+05:30")),
    ("+HH:MM:SS", ts("2026-11-24T10:00:02+05:30:15")),
    ("+HH:MM:SS.ffffff", ts("2026-11-24T10:00:02+05:30:15.123456")),
    ("-HH:MM:SS,f", ts("2026-11-24T10:00:02-05:30:15,5")),
    ("offset fraction of 9 digits", ts("2026-11-24T10:00:02+05:30:15.123456789")),
    ("offset fraction after the minute", ts("2026-11-24T10:00-05:30.5")),
    ("+00:00:00.5 is UTC (C drops the microseconds)", ts("2026-11-24T10:00+00:00:00.5")),
    ("-00:00:00.5 likewise", ts("2026-11-24T10:00-00:00:00.5")),
    ("+00:00:01.5 keeps them", ts("2026-11-24T10:00+00:00:01.5")),
    ("offset minute 99 is not checked", ts("2026-11-24T10:00+05:99")),
    ("offset second 99", ts("2026-11-24T10:00+05:00:99")),
    ("offset +23:59:59.999999", ts("2026-11-24T10:00+23:59:59.999999")),
    ("offset +24:00", ts("2026-11-24T10:00+24:00")),
    ("offset -24:00", ts("2026-11-24T10:00-24:00")),
    ("offset -23:59:60 is a day", ts("2026-11-24T10:00-23:59:60")),
    ("offset +99", ts("2026-11-24T10:00+99")),
    ("offset +5 (one digit)", ts("2026-11-24T10:00+5")),
    ("offset +05: (dangling colon)", ts("2026-11-24T10:00+05:")),
    ("offset +0530x", ts("2026-11-24T10:00+0530x")),
    ("offset then Z", ts("2026-11-24T10:00+05:00Z")),
    ("bare +", ts("2026-11-24T10:00+")),
    ("offset without a time", ts("2026-11-24T+05:00")),
    ("Z without a time", ts("2026-11-24TZ")),
    ("offset after a dangling colon (C quirk)", ts("2026-11-24T10:00:+05:00")),
    ("offset after the hour's colon (C quirk)", ts("2026-11-24T10:+05:00")),
    ("offset after a dangling dot (C quirk)", ts("2026-11-24T10:00.+05:00")),
    ("offset after a dangling comma", ts("2026-11-24T10:00:02,+05:00")),
    ("offset right after the hour", ts("2026-11-24T10-01")),
    ("Z right after the hour", ts("2026-11-24T10Z")),
    ("date only with an offset", ts("2026-11-24+05:00")),
    ("week date with an offset", ts("2026-W48-2T10:00+05:00")),
    # parse_event_time: range and arithmetic
    ("the epoch", ts("1970-01-01T00:00:00Z")),
    ("a microsecond before the epoch", ts("1969-12-31T23:59:59.999999")),
    ("the epoch, from an offset", ts("1970-01-01T05:30+05:30")),
    ("before the epoch by an offset", ts("1970-01-01T05:29:59.999+05:30")),
    ("the last millisecond", ts("9999-12-31T23:59:59.999")),
    ("past the last millisecond by an offset", ts("9999-12-31T23:59:59.999-00:00:01")),
    ("year 1 with a negative offset", ts("0001-01-01T00:00-05:00")),
    ("an offset of 0 s and 200 µs is UTC: at the epoch", ts("1970-01-01T00:00:00.0001+00:00:00.0002")),
    ("microseconds into a millisecond", ts("2026-11-24T10:00:02.0019999")),
]


def test_python_limits_are_the_jvm_ones():
    """The two limits the JVM hard-codes (PythonJsonReader.MAX_NESTING, MAX_INT_DIGITS)."""
    assert MAX_NESTING == 500
    assert sys.get_int_max_str_digits() == 4300, "PYTHONINTMAXSTRDIGITS or -X int_max_str_digits changes json.loads"


def test_edge_cases(java_describe):
    texts = [text for _, text in EDGE_CASES]
    accepted = assert_same(java_describe, texts)
    print(f"{len(texts)} hand-written lines, accepted per schema: {accepted}")
    assert all(0 < n < len(texts) for n in accepted.values())


#: What the round trip changes: spacing, escapes, number spellings, and a repeated key's place
#: (the first) and value (the last), at every depth.
ROUND_TRIPS = {
    '{"a":1,"b":[1,2,{"c":null}],"d":{}}': '{"a": 1, "b": [1, 2, {"c": null}], "d": {}}',
    ' {\t"a" :\r\n[ ] , "b":{ } }\n': '{"a": [], "b": {}}',
    '{"k": "\\u00e9\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\"\\\\\\u0000\\u001f\\u007f"}': (
        '{"k": "é😀/\\b\\f\\n\\r\\t\\"\\\\\\u0000\\u001f\x7f"}'
    ),
    '{"k": "é😀\u2028\x7f"}': '{"k": "é😀\u2028\x7f"}',
    '{"n": [-0, 0, -0.0, 1E5, 1e-5, 1.50, 1e400, -1e400, 1e-400, NaN, -Infinity, 12345678901234567890]}': (
        '{"n": [0, 0, -0.0, 100000.0, 1e-05, 1.5, Infinity, -Infinity, 0.0, NaN, -Infinity, 12345678901234567890]}'
    ),
    '{"a": 1, "b": 2, "a": 3}': '{"a": 3, "b": 2}',
    '{"a": 1, "\\u0061": {"x": 1, "x": [true]}, "b": false}': '{"a": {"x": [true]}, "b": false}',
    "{" + ", ".join(f'"k{i % 20}": {i}' for i in range(40)) + "}": (
        "{" + ", ".join(f'"k{i}": {i + 20}' for i in range(20)) + "}"
    ),
}


def test_round_trip_cases(java_dumps_loads):
    texts = list(ROUND_TRIPS)
    assert [python_dumps_loads(text) for text in texts] == list(ROUND_TRIPS.values())
    assert java_dumps_loads(texts) == list(ROUND_TRIPS.values())
    edge_cases = [text for _, text in EDGE_CASES]
    assert 0 < assert_same_round_trip(java_dumps_loads, edge_cases) < len(edge_cases)


# --- generated lines ------------------------------------------------------------------------------
FIELD_NAMES = sorted({f.name for s in SCHEMAS for f in s.fields} | {"timestamp"})
NUMBER_FIELDS = {f.name for s in SCHEMAS for f in s.fields if f.kind == NUMBER}
UNICODE_SPACES = "\u00a0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000\x85\x1c\x1f\x0b\x0c"
TEXT_CHARS = (
    "abcxyzABCXYZ0123456789 _-:./,+"
    + '"\\'
    + "\t\n\x00\x01\x1f\x7f"
    + "éü中文\u0301\u200b\ufeff\uffff"
    + UNICODE_SPACES
    + "😀𝄞"
)
#: Characters mutations insert: what changes JSON's or fromisoformat's reading.
MUTATION_CHARS = (
    "0123456789" * 3 + '{}[]":,\\-+.eEZTWtnfal/ ' * 2 + "\t\n\r\x00\x0b" + UNICODE_SPACES + "é€😀\ufffd\ufeff"
)


class Generator:
    """Deterministic lines (random.Random(seed)): records, timestamps, mutations."""

    def __init__(self, seed: int):
        self.r = random.Random(seed)
        #: The rate of small errors in a record's values (raw control characters, lone surrogates,
        #: bad numbers, non-JSON whitespace): none in most records.
        self.noise = 0.0

    # JSON text, written with random escapes and whitespace
    def ws(self) -> str:
        r = self.r
        if r.random() < 0.85:
            return ""
        if r.random() >= self.noise:
            return "".join(r.choice(" \t\n\r") for _ in range(r.randint(1, 3)))
        return r.choice("\x0b\x0c\u00a0\u2003")  # not JSON whitespace

    def string(self, value: str) -> str:
        r = self.r
        if r.random() < 0.7:  # escaped only where JSON needs it
            out = [json.dumps(value, ensure_ascii=False)[:-1]]
        else:
            out = ['"', *self.escaped(value, r.choice((0.05, 0.3, 1.0)))]
        if r.random() < self.noise:  # a lone surrogate escape somewhere
            out.insert(r.randint(1, len(out)), self.hex_escape(r.choice((0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xD83D))))
        out.append('"')
        return "".join(out)

    def escaped(self, value: str, escape_rate: float) -> list[str]:
        """The characters of a string literal, each escaped at ``escape_rate`` or where JSON needs it."""
        r = self.r
        out = []
        for ch in value:
            code = ord(ch)
            if ch in '"\\' or code < 0x20 or r.random() < escape_rate:
                short = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}
                if ch in short and r.random() < 0.7:
                    out.append(short[ch])
                elif code > 0xFFFF:
                    high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
                    out.append(self.hex_escape(high) + self.hex_escape(low))
                elif code < 0x20 and r.random() < self.noise:
                    out.append(ch)  # raw control character: invalid
                else:
                    out.append(self.hex_escape(code))
            elif ch == "/" and r.random() < 0.5:
                out.append("\\/")
            else:
                out.append(ch)
        return out

    def hex_escape(self, code: int) -> str:
        digits = f"{code:04x}"
        roll = self.r.random()
        if roll < 0.05:
            digits = "".join(self.r.choice((c, c.upper())) for c in digits)
        elif roll < 0.5:
            digits = digits.upper()
        return "\\u" + digits

    def text(self) -> str:
        return "".join(self.r.choices(TEXT_CHARS, k=self.r.choice((0, 1, 3, 8, 20))))

    def number(self) -> str:
        r = self.r
        kind = r.randrange(16)
        if kind == 0:
            return str(r.randint(-1000, 1000))
        if kind == 1:
            return str(r.randint(-(2**64), 2**64))
        if kind == 2:  # ints around 2**53: rounding to even
            return str(r.choice((1, -1)) * (2**53 + r.randint(-4, 4)) * 2 ** r.randint(0, 60))
        if kind == 3 and r.random() < 0.3:  # ints around the largest double: overflow or not
            return str(MAX_DOUBLE_INT + ULP_AT_MAX // 2 + r.randint(-3, 3) * r.choice((1, 2**100)))
        if kind == 4:
            return str(r.randint(0, 10 ** r.choice((r.randint(15, 40), r.randint(15, 40), r.randint(300, 320)))))
        if kind == 5:  # shortest repr of a random double
            return repr(struct.unpack("<d", r.getrandbits(64).to_bytes(8, "little"))[0])
        if kind == 6:  # exactly halfway between two doubles, and just off it; rarely long ones
            x = abs(struct.unpack("<d", r.getrandbits(64).to_bytes(8, "little"))[0])
            if r.random() < 0.9:
                x = math.ldexp(math.frexp(x)[0], r.randint(-70, 70))
            if not 0 < x < sys.float_info.max:
                return "1.5"
            return r.choice(("", "-")) + halfway_above(x) + r.choice(("", "", "1", "0000001"))
        if kind == 7:
            mantissa = "".join(r.choice("0123456789") for _ in range(r.randint(1, 40))).lstrip("0") or "0"
            fraction = (
                "." + "".join(r.choice("0123456789") for _ in range(r.randint(1, 30))) if r.random() < 0.6 else ""
            )
            exponent = f"{r.choice('eE')}{r.choice(('', '+', '-'))}{r.randint(0, 400)}" if r.random() < 0.6 else ""
            return r.choice(("", "-")) + mantissa + fraction + exponent
        if kind == 8:
            return r.choice(("0", "-0", "0.0", "-0.0", "0e0", "-0E-0", "1e308", "1.8e308", "-1e-324", "4.9e-324"))
        if kind == 9:
            return r.choice(("NaN", "Infinity", "-Infinity"))
        if kind == 10 and r.random() < 10 * self.noise:  # invalid spellings
            return r.choice(("01", "-", "1.", ".5", "+1", "1e", "1e+", "0x1", "1_000", "--1", "1.5.2", "Inf", "-nan"))
        return str(r.randint(0, 253402300799999))

    def value(self, depth: int) -> str:
        r = self.r
        kind = r.randrange(10 if depth < 4 else 7)
        if kind < 2:
            return self.number()
        if kind < 4:
            return self.string(self.text())
        if kind == 4:
            return r.choice(("null", "true", "false"))
        if kind == 5:
            return self.string(self.timestamp())
        if kind == 6:
            return r.choice(("null", "true", "false", "1", '""'))
        if kind < 9:
            return "[" + self.ws() + ("," + self.ws()).join(self.value(depth + 1) for _ in range(r.randint(0, 3))) + "]"
        return self.obj(depth + 1)

    def obj(self, depth: int) -> str:
        r = self.r
        members = []
        for _ in range(r.randint(0, 4)):
            key = r.choice(FIELD_NAMES) if r.random() < 0.5 else self.text()
            members.append(self.string(key) + self.ws() + ":" + self.ws() + self.value(depth))
        return "{" + self.ws() + ("," + self.ws()).join(members) + self.ws() + "}"

    def field_value(self, name: str, typed: bool) -> str:
        """A value for the field ``name``: of its type (``typed``) or of any."""
        r = self.r
        if name == "timestamp":
            if typed or r.random() < 0.5:
                if r.random() < 0.75:
                    return self.string(self.timestamp())
                return r.choice((str(r.randint(0, 253402300799999)), str(r.randint(-(10**16), 10**16)), "-0"))
            return self.value(1)
        if typed:
            return self.number() if name in NUMBER_FIELDS else self.string(self.text())
        kind = r.randrange(10)
        if kind < 4:
            return self.string(self.text())
        if kind < 8:
            return self.number()
        return self.value(1)

    def record(self) -> str:
        """A record of the schemas' fields (each present, null, of its type or any) and others;
        most records mostly typed, some anything."""
        r = self.r
        typed = r.choice((1.0, 0.99, 0.97, 0.9, 0.5))
        self.noise = r.choice((0.0, 0.0, 0.0, 0.01, 0.05))
        members = []
        for name in FIELD_NAMES:
            if r.random() < 0.93:
                members.append((name, self.field_value(name, r.random() < typed)))
        for _ in range(r.choice((0, 0, 1, 3))):
            members.append((self.text(), self.value(1)))
        if r.random() < 0.15:  # duplicate keys, the last wins
            name = r.choice(FIELD_NAMES)
            members.append((name, self.field_value(name, r.random() < typed)))
        if r.random() < 0.01:
            extra = r.choice((MAX_NESTING - 2, MAX_NESTING - 1, MAX_NESTING, MAX_NESTING + 1))
            members.append(("deep", "[" * extra + "]" * extra))
        if r.random() < 0.005:
            members.append(("long", "9" * r.choice((4299, 4300, 4301))))
        r.shuffle(members)
        body = ("," + self.ws()).join(
            self.string(name) + self.ws() + ":" + self.ws() + value for name, value in members
        )
        return self.ws() + "{" + self.ws() + body + self.ws() + "}" + self.ws()

    # timestamps: every form fromisoformat knows, then mutations
    def two(self, low: int, high: int, wide_low: int, wide_high: int) -> str:
        """Two digits, mostly in [low, high], else in [wide_low, wide_high]."""
        if self.r.random() < 0.9:
            return f"{self.r.randint(low, high):02d}"
        return f"{self.r.randint(wide_low, wide_high):02d}"

    def timestamp(self) -> str:
        r = self.r
        year = f"{r.choice((r.randint(1969, 2100), r.randint(1969, 2100), r.randint(0, 9999), 1, 9999, 1970, 0)):04d}"
        form = r.randrange(6)
        if form == 0:
            date = f"{year}-{self.two(1, 12, 0, 13)}-{self.two(1, 31, 0, 32)}"
        elif form == 1:
            date = f"{year}{self.two(1, 12, 0, 13)}{self.two(1, 31, 0, 32)}"
        elif form == 2:
            date = f"{year}-W{self.two(1, 53, 0, 54)}"
        elif form == 3:
            date = f"{year}-W{self.two(1, 53, 0, 54)}-{self.week_day()}"
        elif form == 4:
            date = f"{year}W{self.two(1, 53, 0, 54)}"
        else:
            date = f"{year}W{self.two(1, 53, 0, 54)}{self.week_day()}"
        value = date
        if r.random() < 0.85:
            value += r.choice(("T", "T", "T", " ", "t", "x", "5", "-", "W", "é", "€", "😀", "\x00", "\u2003"))
            value += self.time()
        for _ in range(r.choice((0, 0, 0, 0, 0, 1, 1, 2))):
            value = self.mutate(value)
        if r.random() < 0.15:
            value = self.spaces() + value + self.spaces()
        return value

    def week_day(self) -> int:
        return self.r.randint(1, 7) if self.r.random() < 0.9 else self.r.randint(0, 9)

    def time(self) -> str:
        r = self.r
        hh, mm, ss = self.two(0, 23, 0, 25), self.two(0, 59, 0, 61), self.two(0, 59, 0, 61)
        parts = r.choice(((hh,), (hh, mm), (hh, mm, ss)))
        text = r.choice((":", "", ":", "")).join(parts)
        if r.random() < 0.4:
            text += r.choice(".,") + "".join(
                r.choice("0123456789") for _ in range(r.choice((0, 1, 2, 3, 4, 5, 6, 7, 9, 12)))
            )
        if r.random() < 0.6:
            text += self.offset()
        return text

    def offset(self) -> str:
        r = self.r
        if r.random() < 0.3:
            return r.choice(("Z", "Z", "z", "+00:00", "-00:00", "+00:00:00.5"))
        hh, mm, ss = self.two(0, 23, 0, 25), self.two(0, 59, 0, 99), self.two(0, 59, 0, 99)
        form = r.randrange(6)
        text = (
            r.choice("+-")
            + (
                hh,
                f"{hh}{mm}",
                f"{hh}:{mm}",
                f"{hh}:{mm}:{ss}",
                f"{hh}:{mm}:{ss}.{r.randint(0, 999999):06d}",
                f"{hh}:{mm}:{ss}{r.choice('.,')}{r.randint(0, 10**9)}",
            )[form]
        )
        return text

    def spaces(self) -> str:
        return "".join(self.r.choice(" \t\n" + UNICODE_SPACES + "\u200b") for _ in range(self.r.randint(0, 2)))

    def mutate(self, value: str) -> str:
        """One random insertion, deletion or replacement."""
        r = self.r
        i = r.randint(0, len(value))
        op = r.randrange(3)
        if op == 0 or not value:
            return value[:i] + r.choice(MUTATION_CHARS) + value[i:]
        i = min(i, len(value) - 1)
        if op == 1:
            return value[:i] + value[i + 1 :]
        return value[:i] + r.choice(MUTATION_CHARS) + value[i + 1 :]

    def line(self) -> str:
        r = self.r
        text = self.record()
        roll = r.random()
        if roll < 0.12:
            for _ in range(r.randint(1, 3)):
                text = self.mutate(text)
        elif roll < 0.14:
            text = text[: r.randint(0, len(text))]
        elif roll < 0.15:
            text = r.choice(("\ufeff", "[", "", "x")) + text + r.choice(("", "]", "x", "{}"))
        elif roll < 0.16:
            text = self.value(0)  # any JSON value, an object or not
        return text


def test_generated_lines(java_describe, java_dumps_loads):
    generator = Generator(SEED)
    texts = [generator.line() for _ in range(GENERATED)]
    accepted = assert_same(java_describe, texts)
    print(f"{len(texts)} generated lines, accepted per schema: {accepted}")
    assert all(n > GENERATED // 10 for n in accepted.values())
    assert assert_same_round_trip(java_dumps_loads, texts) > GENERATED // 2
