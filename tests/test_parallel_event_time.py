"""Event time that stays exact at any parallelism (docs/event-time.md).

Watermarks are made per source reader, before any redistribution: one reader per file (a single
file has one reader at any parallelism), one per Kafka partition. So every job gives, on the same
file, the same outputs at parallelism 1 and 4 (2: every job's own pipeline tests), run after run,
late records included; each file of a folder and each Kafka partition has a watermark of its own.
"""

import importlib
import json
import pkgutil
import uuid

import pytest

import jobs
from jobs import event_router, late_data
from runner.cli import run_command
from runner.outputs import read_file_outputs
from samples.generate import BASE_MS
from tests.harness import canonical
from tools.kafka_broker import produce
from udfs.timeutil import format_time

#: Options that make each job meet late records in the bundled samples.
ARGV = {
    "sessions": ["--gap", "3s", "--out-of-orderness", "1s"],
    "moving_average": ["--out-of-orderness", "1s"],
    "inactivity_timeouts": ["--out-of-orderness", "1s"],
    "event_router": ["--out-of-orderness", "1s"],
}
JOBS = sorted(m.name for m in pkgutil.iter_modules(jobs.__path__))
#: The jobs whose late output is the concept: three runs at parallelism 4.
REPEATED = ("late_data", "sessions")


def run_main(job, argv, out) -> dict[str, list[str]]:
    assert run_command(job.JOB, [*argv, "--sink", "file", "--output", str(out)]) == 0
    return {k: canonical(v) for k, v in read_file_outputs(out, [p.name for p in out.iterdir()]).items()}


@pytest.mark.parametrize("name", JOBS)
def test_every_job_gives_the_same_outputs_at_parallelism_1_and_4(name, tmp_path, capsys):
    job = importlib.import_module(f"jobs.{name}")
    argv = ARGV.get(name, [])
    expected = run_main(job, [*argv, "--parallelism", "1"], tmp_path / "p1")
    assert "nothing lost" in capsys.readouterr().err
    assert "errors" in expected and len(expected) >= 2
    if "late" in expected:
        assert expected["late"], "the case must have late records"
    runs = [4, 4, 4] if name in REPEATED else [4]  # parallelism 2: every job's pipeline tests
    for i, parallelism in enumerate(runs):
        got = run_main(job, [*argv, "--parallelism", str(parallelism)], tmp_path / f"run{i}")
        assert got == expected, f"parallelism {parallelism} (run {i}) differs from parallelism 1"


def test_the_modules_late_data_timeline_at_parallelism_1_2_and_4(tmp_path):
    # Module section 3: one key, events at 1, 3, 12, 4, 17, 2, 25 s in that arrival order; a 10 s
    # window, no out-of-orderness, 5 s allowed lateness. The event at 4 s is within the lateness
    # of [0 s, 10 s): a late update; the one at 2 s comes after the watermark passed 10 s + 5 s.
    def event(second):
        return json.dumps({"user_id": "u1", "action": "view", "timestamp": BASE_MS + second * 1000})

    source = tmp_path / "timeline.jsonl"
    source.write_text("\n".join(event(s) for s in (1, 3, 12, 4, 17, 2, 25)) + "\n")
    argv = ["--input", str(source), "--window", "10s", "--out-of-orderness", "0s", "--allowed-lateness", "5s"]

    def window(start, count, firing):
        return {
            "user_id": "u1",
            "window_start": format_time(BASE_MS + start * 1000),
            "window_end": format_time(BASE_MS + (start + 10) * 1000),
            "count": count,
            "sum": 0.0,
            "firing": firing,
            "late_update": firing > 1,
        }

    expected = {
        "windows": canonical([window(0, 2, 1), window(0, 3, 2), window(10, 2, 1), window(20, 1, 1)]),
        "late": canonical([{**json.loads(event(2)), "window_end": format_time(BASE_MS + 10_000)}]),
        "errors": [],
    }
    for i, parallelism in enumerate([1, 2, 4, 4, 4]):
        assert run_main(late_data, [*argv, "--parallelism", str(parallelism)], tmp_path / f"run{i}") == expected


def router_event(user, second):
    return json.dumps({"user_id": user, "action": "view", "value": 1.0, "timestamp": BASE_MS + second * 1000})


#: Two sources, each with one event behind its own watermark (bound 5 s): 45 s after 52 s, 5 s
#: after 12 s. Read one after the other, with one watermark, either order makes 5 records late.
SPLIT_A = [router_event("a", s) for s in (50, 51, 52, 45)]
SPLIT_B = [router_event("b", s) for s in (10, 11, 12, 5, 90)]
PER_SPLIT_LATE = canonical([json.loads(SPLIT_A[3]), json.loads(SPLIT_B[3])])


def test_each_file_of_a_folder_has_its_own_watermark(tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "a.jsonl").write_text("\n".join(SPLIT_A) + "\n")
    (folder / "b.jsonl").write_text("\n".join(SPLIT_B) + "\n")
    for parallelism in (1, 2, 4):
        out = run_main(
            event_router, ["--input", str(folder), "--parallelism", str(parallelism)], tmp_path / f"p{parallelism}"
        )
        assert out["late"] == PER_SPLIT_LATE, f"parallelism {parallelism}"
        assert len(out["valid"]) == len(SPLIT_A) + len(SPLIT_B) - 2


def test_each_kafka_partition_has_its_own_watermark(kafka_bootstrap, tmp_path):
    # One reader per partition (parallelism >= partitions); Flink assigns partitions to readers
    # by a fixed rule, so no interleaving of the two partitions can change a record's lateness.
    topic = f"per-partition-{uuid.uuid4().hex[:8]}"
    produce(
        kafka_bootstrap,
        topic,
        SPLIT_A + SPLIT_B,
        partitions=2,
        partition_of=lambda i, record: 0 if i < len(SPLIT_A) else 1,
    )
    for parallelism in (2, 4):
        out = run_main(
            event_router,
            [
                "--source",
                "kafka",
                "--topic",
                topic,
                "--bootstrap-servers",
                kafka_bootstrap,
                "--bounded",
                "--parallelism",
                str(parallelism),
            ],
            tmp_path / f"p{parallelism}",
        )
        assert out["late"] == PER_SPLIT_LATE, f"parallelism {parallelism}"
