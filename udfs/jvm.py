"""The jobs' JVM functions (``jvm/src/main/java/dev/pyflink/functions``, built by Maven into
``jars/flink/pyflink-jobs-functions.jar``) and how a Python stream goes through one.

What runs on every event or every output record, and needs no Python logic, runs there: each
Python function costs a crossing between the JVM and the interpreter per record (about as much as
the work itself). A local run puts the jar on ``pipeline.jars`` (runner/environment.py); a cluster
has it in its ``lib/`` (scripts/flink-cluster, docker/Dockerfile).
"""

from __future__ import annotations

from pyflink.common.typeinfo import TypeInformation
from pyflink.datastream import DataStream
from pyflink.java_gateway import get_gateway

#: The Java package of the functions.
PACKAGE = "dev.pyflink.functions"


def functions():
    """The py4j view of :data:`PACKAGE`: ``functions().CountRecords(...)``."""
    return getattr(get_gateway().jvm, PACKAGE)


def java_map(stream: DataStream, function, output_type: TypeInformation, name: str) -> DataStream:
    """``stream`` through a Java map function, as operator ``name`` (its uid too)."""
    j_stream = stream._j_data_stream.map(function, output_type.get_java_type_info())
    return DataStream(j_stream.name(name).uid(name))


def java_process(stream: DataStream, function, output_type: TypeInformation, name: str):
    """``stream`` through a Java process function, as operator ``name`` (its uid too): the Java
    ``SingleOutputStreamOperator``, for its side outputs."""
    return stream._j_data_stream.process(function, output_type.get_java_type_info()).name(name).uid(name)
