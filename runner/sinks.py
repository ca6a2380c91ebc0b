"""Sinks: every job output is a stream of JSON strings with a name; these write them somewhere.

- ``file``: ``DIR/<output>/*.jsonl`` via Flink's FileSink, complete once the job has finished;
- ``print`` and tests: the outputs are tagged with their name, unioned, and collected by the client;
- ``kafka``: see :mod:`runner.kafka`.
Each output passes :func:`udfs.metrics.count_records` first (unless ``count=False``), so every job
counts its outputs. :mod:`runner.outputs` reads what the file sink wrote.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from pyflink.common import Encoder, Types
from pyflink.datastream import DataStream
from pyflink.datastream.connectors.file_system import BucketAssigner, FileSink, OutputFileConfig
from pyflink.datastream.data_stream import CloseableIterator

from runner.progress import cancel
from udfs.metrics import count_records


def file_sink(stream: DataStream, directory: str | Path, output: str, count: bool = True) -> None:
    """Write one output as JSON Lines under ``directory/output/``."""
    path = Path(directory, output)
    path.mkdir(parents=True, exist_ok=True)  # an output with no records is still an (empty) folder
    sink = (
        FileSink.for_row_format(str(path), Encoder.simple_string_encoder())
        .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
        .with_output_file_config(OutputFileConfig.builder().with_part_prefix(output).with_part_suffix(".jsonl").build())
        .build()
    )
    (count_records(stream, output) if count else stream).sink_to(sink).name(f"file-{output}").uid(f"sink-{output}")


def tagged_union(outputs: Mapping[str, DataStream]) -> DataStream:
    """All outputs as one stream of ``<output>\\t<json>`` lines, for a client-side collector (each
    counted on the way)."""
    streams = [count_records(stream, name, tag=True) for name, stream in outputs.items()]
    return streams[0].union(*streams[1:]) if len(streams) > 1 else streams[0]


def collect_tagged(outputs: Mapping[str, DataStream], job_name: str) -> Iterator[tuple[str, str]]:
    """Run the job and yield ``(output, json)`` as the records arrive.

    Not ``DataStream.execute_and_collect``: in PyFlink 2.2 it fuses the Python operators of the
    collected stream's lineage only, and leaves the unfused originals of every other branch in the
    job graph, where they run a second time. A collect sink plus the environment's own execution
    fuses the whole graph once.
    """
    tagged = tagged_union(outputs)
    j_records = tagged._j_data_stream.collectAsync()
    client = tagged.get_execution_environment().execute_async(job_name)
    records = CloseableIterator(j_records, Types.STRING())
    try:
        for line in records:
            output, record = line.split("\t", 1)
            yield output, record
    except KeyboardInterrupt:
        cancel(client)  # Ctrl-C: the job stops with the client
        raise
    finally:
        # After Ctrl-C mid-call the iterator's connection may be gone: nothing left to close.
        with contextlib.suppress(Exception):
            records.close()


def collect(outputs: Mapping[str, DataStream], job_name: str = "collect") -> dict[str, list[dict]]:
    """Run the job on bounded inputs and return every output's records (tests, small runs)."""
    result: dict[str, list[dict]] = {name: [] for name in outputs}
    for output, record in collect_tagged(outputs, job_name):
        result[output].append(json.loads(record))
    return result
