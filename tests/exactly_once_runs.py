"""``sessions`` Kafka -> Kafka exactly-once on a cluster, checked against the uninterrupted run:
its input, its options, its committed output and the reference it must equal record for record
(the operations scenarios: tests/test_operations.py, tests/test_application_mode.py)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.harness import assert_same_records, run_in_a_process, wait_until
from tools import loadgen
from tools.kafka_broker import committed_offsets, end_offsets, read_topic

OUTPUTS = ("sessions", "late", "errors")


def sessions_args(topic, bootstrap, prefix, group, parallelism: int | None = 1, *extra) -> list[str]:
    """The job's options: Kafka in and out, exactly-once, checkpoints every second, 1 s gap. No
    ``--parallelism`` with ``parallelism=None`` (reactive mode leaves it to the slots there are)."""
    return [
        "--gap",
        "1s",
        "--source",
        "kafka",
        "--topic",
        topic,
        "--bootstrap-servers",
        bootstrap,
        "--group-id",
        group,
        "--sink",
        "kafka",
        "--output-topic-prefix",
        prefix,
        "--checkpoint-interval",
        "1s",
        "--delivery-guarantee",
        "exactly-once",
        *(["--parallelism", str(parallelism)] if parallelism is not None else []),
        *extra,
    ]


def activity(count, seed, invalid=0.02, late=0.0, users=20):
    return list(
        loadgen.generate(
            "activity",
            count,
            seed=seed,
            users=users,
            out_of_orderness_ms=3_000,
            late_fraction=late,
            invalid_fraction=invalid,
        )
    )


def local_run(tmp_path: Path, records, argv=("--gap", "1s")) -> dict[str, list[dict]]:
    """The uninterrupted run: the job on a file of the same records, bounded, in a local MiniCluster."""
    folder = tmp_path / f"reference-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    (folder / "input.jsonl").write_text("".join(r + "\n" for r in records), encoding="utf-8")
    _, outputs = run_in_a_process("sessions", [*argv, "--input", str(folder / "input.jsonl")], folder / "out")
    return outputs


def committed_output(bootstrap, prefix) -> dict[str, list[dict]]:
    return {o: [json.loads(r) for r in read_topic(bootstrap, f"{prefix}.{o}", "read_committed")] for o in OUTPUTS}


def wait_consumed(bootstrap, group, topic, timeout=300):
    """Until the job's consumer group has committed every offset of ``topic`` (it commits on a
    completed checkpoint, so every record up to there has passed the job's operators)."""

    def done():
        ends = end_offsets(bootstrap, topic)
        return committed_offsets(bootstrap, group, topic) == ends and ends

    wait_until(done, timeout, f"group {group} did not consume all of {topic}", every=1.0)


def assert_same_output(actual, expected):
    assert_same_records(actual, expected)  # a lost or duplicated record is named and counted


def user_partition(i: int, record: str) -> int:
    """A user's events all in one partition (invalid records alternate)."""
    try:
        return int(json.loads(record)["user_id"][-3:]) % 2
    except (ValueError, KeyError, TypeError, IndexError):
        return i % 2
