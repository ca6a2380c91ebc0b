"""The jobs' JVM functions (``jvm/src/main/java/dev/pyflink``: ``parsing``, ``windows``, ``metrics``,
``json``; built by Maven into ``jars/flink/pyflink-jobs-functions.jar``) and how a Python stream goes
through one.

What runs on every event or every output record, and needs no Python logic, runs there: each
Python function costs a crossing between the JVM and the interpreter per record (about as much as
the work itself). A local run puts the jar on ``pipeline.jars`` (runner/environment.py); a cluster
has it in its ``lib/`` (scripts/flink-cluster, docker/Dockerfile).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyflink.common import Types
from pyflink.common.typeinfo import TypeInformation
from pyflink.datastream import DataStream
from pyflink.java_gateway import get_gateway
from pyflink.util.java_utils import to_jarray

#: The Java package of the functions, one subpackage per role.
PACKAGE = "dev.pyflink"


def functions():
    """The py4j view of :data:`PACKAGE`: ``functions().metrics.CountRecords(...)``."""
    return getattr(get_gateway().jvm, PACKAGE)


def java_strings(values) -> object:
    """A Java ``String[]`` of ``values``, for a JVM function's constructor."""
    return to_jarray(get_gateway().jvm.String, list(values))


def java_map(stream: DataStream, function, output_type: TypeInformation, name: str) -> DataStream:
    """``stream`` through a Java map function, as operator ``name`` (its uid too)."""
    j_stream = stream._j_data_stream.map(function, output_type.get_java_type_info())
    return DataStream(j_stream.name(name).uid(name))


def java_process(stream: DataStream, function, output_type: TypeInformation, name: str):
    """``stream`` through a Java process function, as operator ``name`` (its uid too): the Java
    ``SingleOutputStreamOperator``, for its side outputs."""
    return stream._j_data_stream.process(function, output_type.get_java_type_info()).name(name).uid(name)


#: The kinds of :func:`json_records`' fields: ``text``, ``integer``, ``float`` (Python's repr),
#: ``float9`` (Python's ``round(x, 9)``), ``sql-time`` (Flink SQL's text of a UTC ``TIMESTAMP(3)``,
#: written as the outputs' ``2026-11-24T10:00:05.000Z``), ``time`` (epoch ms, written as
#: :func:`udfs.timeutil.format_time` writes it).
JsonFields = Sequence[tuple[str, str]]


def json_records(rows: DataStream, fields: JsonFields, name: str) -> DataStream:
    """Rows -> one JSON object each, the row's i-th field under ``fields[i] = (name, kind)``, in
    the bytes ``json.dumps(..., ensure_ascii=False)`` writes for the same values
    (``JsonRecords.java``; tests/test_jvm_json.py compares the two)."""
    names = java_strings(field for field, _ in fields)
    kinds = java_strings(kind for _, kind in fields)
    return java_map(rows, functions().json.JsonRecords(names, kinds), Types.STRING(), name)
