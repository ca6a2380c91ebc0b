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
