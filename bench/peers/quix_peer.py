"""The jobs' computation in Quix Streams 3.x, reading a topic of a local Kafka broker
(``tools/kafka_broker.py``) that holds the benchmark's file, one record per line, keyed by
``user_id`` (Quix windows are per message key), in one partition (one reader, as the job's file).

- moving_average: ``hopping_window(10 s, step 5 s)`` with ``Count`` and ``Sum("value")``;
- sessions: ``session_window(gap 5 min)`` with ``Count``; Quix's ``start`` is the first event,
  its ``end`` the last event + 1 ms;
- late_data: ``tumbling_window(10 s)`` with ``Count`` and ``Sum("value")``.

Event time: a ``timestamp_extractor`` parsing the record's ``timestamp``; ``grace_ms`` is the
benchmark's 1 s bound, and ``final(closing_strategy="partition")`` closes windows by the
partition's largest time, Flink's watermark of one reader. The input ends with one sentinel record
(key ``~end``, a day after the last event; not in any output) so that every window closes, as
Flink's end-of-input watermark closes them. State in a fresh RocksDB folder, no changelog topics
(the job runs without checkpoints in the benchmark), at-least-once (Quix's default).
The run ends when no record came for :data:`IDLE_S`; ``execute_s`` ends at the last output record.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.data import iso
from bench.peers import GAP_MS, OUTPUTS, SIZE_MS, SLIDE_MS, WINDOW_MS
from bench.peers.common import Outputs, late_record, session_record, tumbling_record, window_record

SENTINEL = "~end"
IDLE_S = 1.0


def topic_name(path: str) -> str:
    """One topic per input file (``activity-100000-10000``), filled once per broker."""
    folder = Path(path).parent.name
    return f"bench-{folder}-{Path(path).stem}"


def fill(bootstrap: str, topic: str, path: str) -> int:
    """Write the file to ``topic`` (keyed by user_id, one partition) unless it is there already,
    then the sentinel. Returns the records written (0 if the topic existed)."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    if topic in admin.list_topics(timeout=10).topics:
        return 0
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    n = 0
    last = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            event = json.loads(line)
            last = max(last, _ms(event["timestamp"]))
            while True:
                try:
                    producer.produce(topic, line.rstrip("\n").encode(), key=event["user_id"].encode())
                    break
                except BufferError:
                    producer.poll(0.1)
            producer.poll(0)
            n += 1
    end = {"user_id": SENTINEL, "action": "end", "value": 0, "timestamp": iso(last + 86_400_000)}
    producer.produce(topic, json.dumps(end).encode(), key=SENTINEL.encode())
    producer.flush(60)
    return n


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def extract(value, _headers, _timestamp, _kind) -> int:
    return _ms(value["timestamp"])


def run(spec: dict, measure) -> dict:
    from quixstreams import Application
    from quixstreams.dataframe.windows import aggregations as agg

    from bench.cases import BOUND_MS

    job = spec["case"]
    bootstrap = spec["bootstrap"]
    path = spec["files"]["activity"]
    topic_id = topic_name(path)
    fill(bootstrap, topic_id, path)
    state = tempfile.mkdtemp(prefix="quix-state-")
    grace = spec.get("grace_ms", BOUND_MS)
    app = Application(
        broker_address=bootstrap,
        consumer_group=f"bench-{job}-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        state_dir=state,
        use_changelog_topics=False,
        loglevel="WARNING",
        auto_create_topics=True,
    )
    topic = app.topic(topic_id, value_deserializer="json", key_deserializer="str", timestamp_extractor=extract)
    sdf = app.dataframe(topic)
    outputs = Outputs(spec["out"], OUTPUTS[job])
    last_output = [0.0]

    late_calls = [0]

    def late(
        value: Any,
        key: Any,
        timestamp_ms: int,
        late_by_ms: int,
        start: int,
        end: int,
        store_name: str,
        topic: str,
        partition: int,
        offset: int,
    ) -> bool:
        late_calls[0] += 1
        # moving_average: an event whose last window is late missed all of them (late for the
        # job too); one late for its first window only still counts in its second
        if key == SENTINEL:
            return False
        if job == "late_data":
            outputs.write("late", late_record(value, WINDOW_MS))
        elif job == "sessions" or start == timestamp_ms - timestamp_ms % SLIDE_MS:
            outputs.write("late", value)
        return False

    if job == "moving_average":
        windowed = (
            sdf.hopping_window(duration_ms=SIZE_MS, step_ms=SLIDE_MS, grace_ms=grace, on_late=late)
            .agg(count=agg.Count(), sum=agg.Sum("value"))
            .final(closing_strategy="partition")
        )

        def write(value, key, _ts, _headers) -> None:
            if key != SENTINEL:
                outputs.write("windows", window_record(key, value["start"], value["end"], value["count"], value["sum"]))
                last_output[0] = time.monotonic()

    elif job == "late_data":
        windowed = (
            sdf.tumbling_window(duration_ms=WINDOW_MS, grace_ms=grace, on_late=late)
            .agg(count=agg.Count(), sum=agg.Sum("value"))
            .final(closing_strategy="partition")
        )

        def write(value, key, _ts, _headers) -> None:
            if key != SENTINEL:
                record = tumbling_record(key, value["start"], value["end"], value["count"], value["sum"])
                outputs.write("windows", record)
                last_output[0] = time.monotonic()

    else:
        windowed = (
            sdf.session_window(inactivity_gap_ms=GAP_MS, grace_ms=grace, on_late=late)
            .agg(count=agg.Count())
            .final(closing_strategy="partition")
        )

        def write(value, key, _ts, _headers) -> None:
            if key != SENTINEL:
                outputs.write("sessions", session_record(key, value["start"], value["end"] - 1, value["count"]))
                last_output[0] = time.monotonic()

    windowed.update(write, metadata=True)
    start = measure()
    app.run(timeout=IDLE_S, collect=False)
    result = measure(start)
    counts = outputs.close()
    # Until the last output record: the idle wait before the run stops is not work.
    result["execute_s"] = last_output[0] - start[0] if last_output[0] else result["execute_s"]
    shutil.rmtree(state, ignore_errors=True)
    return {**result, "outputs": sorted(counts), "records": counts, "late_callbacks": late_calls[0]}
