"""Cluster submission: a job submitted with ``flink run -py ... --pyFiles ...`` to a standalone
cluster (the session's ``flink_cluster``) reads and writes Kafka and gives exactly what the same
job gives on the same records in memory."""

import json
import uuid
from pathlib import Path

from jobs import sessions
from tests.flink_cluster import job_id_of
from tests.harness import canonical, run_job
from tests.kafka_broker import produce, read_topic

SAMPLE = (Path(__file__).resolve().parent.parent / "samples" / "activity.jsonl").read_text().splitlines()


def test_flink_run_on_a_standalone_cluster_reads_and_writes_kafka(flink_cluster, kafka_bootstrap):
    suffix = uuid.uuid4().hex[:8]
    topic, prefix = f"cluster-activity-{suffix}", f"cluster-sessions-{suffix}"
    produce(kafka_bootstrap, topic, SAMPLE)

    result = flink_cluster.flink_run("jobs/sessions.py", [
        "--source", "kafka", "--topic", topic, "--bootstrap-servers", kafka_bootstrap, "--bounded",
        "--sink", "kafka", "--output-topic-prefix", prefix, "--gap", "3s",
        # Thread mode cannot run a second job on the same TaskManager (FLINK-37727).
        "--execution-mode", "process",
    ])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    job_id = job_id_of(result.stdout)
    assert flink_cluster.rest(f"/jobs/{job_id}")["state"] == "FINISHED"

    out = {o: [json.loads(r) for r in read_topic(kafka_bootstrap, f"{prefix}.{o}")] for o in ("sessions", "late", "errors")}
    expected = run_job(sessions, ["--gap", "3s"], events=SAMPLE)
    assert {k: canonical(v) for k, v in out.items()} == {k: canonical(v) for k, v in expected.items()}
    assert sessions.accounting(out) == len(SAMPLE)


def test_idleness_lets_windows_fire_while_a_partition_is_idle(flink_cluster, kafka_bootstrap):
    # Two partitions, parallelism 2, every record in partition 0: the second source subtask never
    # sees a record, so its event-time bridge never emits a watermark and the session windows
    # (which take the minimum over their inputs) would wait forever (measured: no output in 60 s).
    # With --idleness that subtask is marked idle after 1 s of silence and the windows follow the
    # active one. The job is unbounded (no --bounded): what fires is what the watermark of the
    # last record allows, max event time - 5 s; the sessions still open after it never fire.
    from tools import loadgen
    from udfs.timeutil import parse_event_time as parse_timestamp

    suffix = uuid.uuid4().hex[:8]
    topic, prefix = f"idle-activity-{suffix}", f"idle-sessions-{suffix}"
    records = list(loadgen.generate("activity", 300, seed=1, users=5, out_of_orderness_ms=0))
    produce(kafka_bootstrap, topic, records, partitions=2, partition_of=lambda i, record: 0)
    watermark = max(parse_timestamp(json.loads(r)["timestamp"]) for r in records) - 5_000
    every = run_job(sessions, ["--gap", "1s"], events=records)["sessions"]
    expected = [s for s in every if parse_timestamp(s["window_end"]) - 1 <= watermark]
    assert 0 < len(expected) < len(every)
    assert all(abs(parse_timestamp(s["window_end"]) - 1 - watermark) > 1 for s in every)  # no edge cases

    result = flink_cluster.flink_run("jobs/sessions.py", [
        "--source", "kafka", "--topic", topic, "--bootstrap-servers", kafka_bootstrap,
        "--sink", "kafka", "--output-topic-prefix", prefix, "--gap", "1s", "--idleness", "1s",
        "--parallelism", "2", "--execution-mode", "process"], detached=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    job_id = job_id_of(result.stdout)
    try:
        out = wait_for_records(kafka_bootstrap, f"{prefix}.sessions", len(expected), timeout_s=180)
    finally:
        flink_cluster.cancel(job_id)
    assert canonical(out) == canonical(expected)


def wait_for_records(bootstrap, topic, count, timeout_s):
    """Poll an unbounded job's output topic until ``count`` records are there (or fail)."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        records = [json.loads(r) for r in read_topic(bootstrap, topic, "read_uncommitted")]
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(1)  # polling a running job's output, not a timing assumption
