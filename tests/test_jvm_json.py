"""The JVM's JSON records (``JsonRecords.java``) are byte for byte what Python's ``json.dumps``
writes: moving_average's ``windows`` records from either window operator, on generated values
(floats of every magnitude, powers of two, sums that round to -0.0, overflowing sums, keys with
quotes, control and non-ASCII characters), through a real Flink job."""

import math
import random
import struct

from pyflink.common import Types
from pyflink.datastream import StreamExecutionEnvironment

from jobs.jvm.moving_average import WINDOW_RECORD
from jobs.moving_average import window_json
from runner.jars import functions_jar
from udfs.jvm import json_records
from udfs.timeutil import format_time

CASES = 20_000


def doubles(rng: random.Random):
    """Finite doubles from every corner: Python's repr switches notation at 1e-4 and 1e16, its
    shortest digits are lopsided at powers of two, round(x, 9) keeps the sign of a zero."""
    yield from (0.0, -0.0, 0.1 + 0.2, 1e16, 1e15, 9999999999999998.0, 1e-4, 1e-5, 5e-324, 1.7976931348623157e308)
    yield from (-1e-12, 4.9999999995e-10, 5e-10, 1.5e-9, 123456789.123456789, 2.5, 1e22, 1e23, 0.5e-323)
    for k in range(-1074, 1024, 7):
        yield math.ldexp(1.0, k)
    while True:
        kind = rng.randrange(4)
        if kind == 0:  # any bit pattern
            x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
            if math.isfinite(x):
                yield x
        elif kind == 1:  # sums of event values: a few decimals
            yield round(rng.uniform(-1e6, 1e6), rng.randrange(0, 12))
        elif kind == 2:  # near a rounding boundary of round(x, 9)
            yield rng.randrange(-(10**12), 10**12) / 1e9 + rng.choice((5e-10, -5e-10, 0.0, 1e-16))
        else:
            yield rng.uniform(-1, 1) * 10.0 ** rng.randrange(-30, 30)


KEYS = ["Alice", None, 'quo"te\\back', "tab\tnew\nline\r\b\f\x00\x1f\x7f", "é€😀\u2028", ""]


def test_window_records_are_python_json_to_the_byte():
    rng = random.Random(20261128)
    values = doubles(rng)
    rows, expected = [], []
    for _ in range(CASES):
        total, count = next(values), rng.choice((1, 2, 3, 7, 10**6))
        start = rng.randrange(0, 253_402_300_000_000) // 1000 * 1000
        key = rng.choice(KEYS)
        leaving = rng.randrange(0, count + 1)
        rows.append((key, sql_text(start), sql_text(start + 10_000), count, total, total / count, leaving))
        expected.append(window_json(key, format_time(start), format_time(start + 10_000), count, total, leaving))
    # Overflowing sums: Python writes Infinity / NaN, as json.dumps does.
    for total, count in ((math.inf, 2), (-math.inf, 1), (math.nan, 3)):
        rows.append((None, sql_text(0), sql_text(10_000), count, total, total / count, 0))
        expected.append(window_json(None, format_time(0), format_time(10_000), count, total, 0))

    env = StreamExecutionEnvironment.get_execution_environment()
    env.add_jars(functions_jar().resolve().as_uri())
    env.set_parallelism(1)
    row_type = Types.ROW(
        [Types.STRING(), Types.STRING(), Types.STRING(), Types.LONG(), Types.DOUBLE(), Types.DOUBLE(), Types.LONG()]
    )
    formatted = json_records(env.from_collection(rows, row_type), WINDOW_RECORD, "format-windows")
    with formatted.execute_and_collect() as results:
        actual = list(results)
    mismatches = [(row, want, got) for row, want, got in zip(rows, expected, actual, strict=True) if want != got]
    assert not mismatches, "\n".join(f"{row!r}\n  python {want}\n  jvm    {got}" for row, want, got in mismatches[:5])


def sql_text(ms: int) -> str:
    """Flink SQL's text of a UTC TIMESTAMP(3)."""
    text = format_time(ms)
    return f"{text[:10]} {text[11:-1]}"
