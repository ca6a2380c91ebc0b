"""Exactly-once under failure, in the cluster's default execution mode (thread): ``sessions`` and
``window_join`` on the standalone cluster, checkpointing every second, exactly-once Kafka sinks,
and one failure 100 records after the first completed checkpoint (tests/flaky_job.py), when the
failed attempt has written uncommitted output: either an exception in an operator, or the
TaskManager process killed with SIGKILL (and a new one started). Flink restarts the job from that
checkpoint; a ``read_committed`` consumer must then see exactly the failure-free result: no record
lost, none duplicated.

The input (tools/loadgen.py) is out of order only within the watermark bound, so no record is late
and the result does not depend on where the failure cut the stream: watermarks are not part of a
checkpoint, so after a restart a record that was late before might not be, and vice versa.

``EXACTLY_ONCE_RUNS=N`` repeats every case with N seeds each (scripts/soak-exactly-once).
"""

import json
import os
import time
import uuid
from dataclasses import dataclass
from types import ModuleType

import pytest

from jobs import sessions, window_join
from tests.flaky_job import MESSAGE
from tests.harness import assert_same_records, run_job
from tools import loadgen
from tools.kafka_broker import produce, read_topic

RUNS = int(os.environ.get("EXACTLY_ONCE_RUNS", "1"))
EVENTS = int(os.environ.get("EXACTLY_ONCE_EVENTS", "2000"))


@dataclass(frozen=True)
class Case:
    job: ModuleType  # a module of jobs/
    argv: tuple[str, ...]
    streams: tuple[str, ...]  # loadgen stream of each input, in the job's input order

    @property
    def name(self) -> str:
        return self.job.JOB.name


CASES = [Case(sessions, ("--gap", "1s"), ("activity",)), Case(window_join, ("--window", "2s"), ("clicks", "purchases"))]


def submit_flaky_job(cluster, bootstrap, tmp_path, case, seed, mode):
    """Write the seed's inputs to new topics, submit the flaky job; returns what the checks need."""
    suffix = uuid.uuid4().hex[:8]
    prefix = f"eo-{case.name}-{suffix}"
    inputs, topic_args = {}, []
    for spec, stream in zip(case.job.JOB.inputs, case.streams, strict=False):
        records = list(
            loadgen.generate(
                stream,
                EVENTS // len(case.streams),
                seed=seed,
                users=20,
                out_of_orderness_ms=3_000,
                late_fraction=0.0,
                invalid_fraction=0.02,
            )
        )
        topic = f"eo-{stream}-{suffix}"
        produce(bootstrap, topic, records)
        inputs[spec.name] = records
        topic_args += [spec.topic_option, topic]
    checkpoints, marker = tmp_path / "checkpoints", tmp_path / "failed-once"
    submitted = cluster.submit(
        "tests/flaky_job.py",
        [
            "--job",
            case.name,
            "--checkpoints",
            str(checkpoints),
            "--failure-marker",
            str(marker),
            "--failure-mode",
            mode,
            "--source",
            "kafka",
            *topic_args,
            "--bootstrap-servers",
            bootstrap,
            "--bounded",
            "--sink",
            "kafka",
            "--output-topic-prefix",
            prefix,
            *case.argv,
            "--checkpoint-interval",
            "1s",
            "--delivery-guarantee",
            "exactly-once",
        ],
        packages=("udfs", "jobs", "runner", "tests/flaky_job.py"),
        flink_options=["-D", f"execution.checkpointing.dir={checkpoints.as_uri()}"],
    )
    assert submitted.execution_mode == "thread"
    return inputs, prefix, marker, submitted.job_id


def assert_exactly_once(bootstrap, case, prefix, inputs, label):
    expected = run_job(case.job.JOB, list(case.argv), **inputs)
    out = {o: [json.loads(r) for r in read_topic(bootstrap, f"{prefix}.{o}", "read_committed")] for o in expected}
    assert expected["late"] == [] and expected["errors"]
    assert_same_records(out, expected)  # a lost or duplicated record is named and counted
    records_in = sum(map(len, inputs.values()))
    assert case.job.JOB.accounted(out) == records_in
    # What the failed attempt wrote and Flink aborted (visible only to read_uncommitted readers).
    aborted = sum(len(read_topic(bootstrap, f"{prefix}.{o}", "read_uncommitted")) - len(out[o]) for o in out)
    print(
        f"\nexactly-once run {case.name} {label}: {records_in} records in, {sum(map(len, out.values()))} out, "
        f"{aborted} records of the failed attempt aborted"
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", range(1, RUNS + 1))
def test_exactly_once_after_a_failure_after_the_first_checkpoint(flink_cluster, kafka_bootstrap, tmp_path, case, seed):
    inputs, prefix, marker, job_id = submit_flaky_job(flink_cluster, kafka_bootstrap, tmp_path, case, seed, "raise")
    assert flink_cluster.wait_for_job(job_id, timeout=300) == "FINISHED", flink_cluster.root_cause(job_id)

    # The failure happened, after a completed checkpoint, and Flink recovered from it.
    assert marker.exists(), "the job finished before its first checkpoint completed: no failure was injected"
    history = flink_cluster.rest(f"/jobs/{job_id}/exceptions")["exceptionHistory"]["entries"]
    assert any(MESSAGE in entry["stacktrace"] for entry in history)
    assert_exactly_once(kafka_bootstrap, case, prefix, inputs, f"seed={seed} (exception)")


@pytest.mark.ops  # a TaskManager's death: an operations scenario (make test-ops), as the broker outage
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", range(101, 101 + RUNS))
def test_exactly_once_after_the_taskmanager_is_killed(flink_cluster, kafka_bootstrap, tmp_path, case, seed):
    inputs, prefix, marker, job_id = submit_flaky_job(flink_cluster, kafka_bootstrap, tmp_path, case, seed, "kill")
    deadline = time.monotonic() + 300
    while not marker.exists():  # the job signals: first checkpoint done, output written since
        assert flink_cluster.rest(f"/jobs/{job_id}")["state"] in ("CREATED", "INITIALIZING", "RUNNING")
        assert time.monotonic() < deadline, "no completed checkpoint within 300 s"
        time.sleep(0.2)  # polling a running job
    killed = flink_cluster.kill_taskmanagers()
    assert killed
    flink_cluster.start_taskmanager()

    assert flink_cluster.wait_for_job(job_id, timeout=300) == "FINISHED", flink_cluster.root_cause(job_id)
    history = flink_cluster.rest(f"/jobs/{job_id}/exceptions")["exceptionHistory"]["entries"]
    assert history, "the job did not notice the TaskManager's death"
    assert_exactly_once(kafka_bootstrap, case, prefix, inputs, f"seed={seed} (TaskManager pid {killed} killed)")
