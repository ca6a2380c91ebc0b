"""Run a job's real pipeline (parsing, event time, the job's operators, counting) on in-memory
records and collect every output: the tests' bounded sources and collecting sink."""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from pyflink.common import Types
from pyflink.datastream.functions import MapFunction, RuntimeContext

from runner.cli import PROJECT_ROOT, parse
from runner.outputs import canonical, read_file_outputs
from runner.run import Build, prepare
from tools.processes import child_env
from udfs.job import Job

__all__ = ["assert_same_records", "canonical", "lines", "record_differences", "run_job"]


def record_differences(actual: Mapping[str, list], expected: Mapping[str, list], shown: int = 3) -> list[str]:
    """What keeps ``actual`` from equalling ``expected`` (``{output: [records]}``, order-free),
    counted: per output, how many records are lost (fewer copies than expected), duplicated (more
    copies of an expected record) or unexpected, each with its first ``shown`` records. Empty
    when they are equal: the form of an exactly-once check's failure, not a diff of every record."""
    problems = []
    for output in sorted(set(actual) | set(expected)):
        have, want = Counter(canonical(actual.get(output, []))), Counter(canonical(expected.get(output, [])))
        lost = want - have
        extra = have - want
        duplicated = Counter({r: n for r, n in extra.items() if r in want})
        unexpected = extra - duplicated
        for what, records in (("lost", lost), ("duplicated", duplicated), ("unexpected", unexpected)):
            if records:
                first = sorted(records.elements())[:shown]
                problems.append(
                    f"{output}: {sum(records.values())} of {sum(want.values())} records {what}, e.g. "
                    + "; ".join(first)
                )
    return problems


def assert_same_records(actual: Mapping[str, list], expected: Mapping[str, list]) -> None:
    """``actual == expected`` per output as multisets (a duplicate counts), failing with
    :func:`record_differences`."""
    problems = record_differences(actual, expected)
    assert not problems, "outputs differ:\n  " + "\n  ".join(problems)


def run_job(
    job: Job,
    argv: Sequence[str] = (),
    checkpoints: Path | None = None,
    build: Build | None = None,
    **inputs: Sequence[str],
) -> dict[str, list[dict]]:
    """``run_job(sessions.JOB, ["--gap", "3s"], events=[...lines])`` -> ``{output: [records]}``,
    after checking the job's accounting identity: the outputs account for every input record.

    With ``checkpoints`` (a folder; the job needs ``--checkpoint-interval``), checkpoints are
    written there, any failed checkpoint fails the job (no restart hides it), and every input
    passes an :class:`AwaitCheckpoints` gate, so checkpoints complete while the job holds state.
    ``build`` replaces the job's own (e.g. to observe it).
    """
    config = parse(job, list(argv))
    overrides = None
    if checkpoints is not None:
        overrides = {
            "execution.checkpointing.dir": Path(checkpoints).resolve().as_uri(),
            "execution.checkpointing.tolerable-failed-checkpoints": "0",
            "restart-strategy.type": "none",
        }

    def in_memory(env):
        sources = {}
        for spec in job.inputs:
            stream = env.from_collection(list(inputs[spec.name]), Types.STRING())
            if checkpoints is not None:
                gate = AwaitCheckpoints(str(checkpoints), spec.name)
                stream = stream.map(gate, Types.STRING()).name(f"await-{spec.name}")
            sources[spec.name] = [stream]
        return sources

    outputs = prepare(job, config, sources=in_memory, build=build, overrides=overrides).collect()
    records_in = sum(len(inputs[spec.name]) for spec in job.inputs)
    assert job.accounted(outputs) == records_in, (
        f"{job.name}: outputs account for {job.accounted(outputs)} of {records_in} input records"
    )
    return outputs


def run_in_a_process(
    job: str, argv: Sequence[str], output: Path, timeout: float = 600
) -> tuple[subprocess.CompletedProcess, dict[str, list[dict]]]:
    """``python -m jobs.<job> ARGV --sink file --output OUTPUT`` as a user types it, in a fresh
    process: the finished process (it must have succeeded) and what each output holds."""
    result = subprocess.run(
        [sys.executable, "-m", f"jobs.{job}", *argv, "--sink", "file", "--output", str(output)],
        cwd=PROJECT_ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result, read_file_outputs(output, [p.name for p in output.iterdir() if p.is_dir()])


def flink_cluster_script(home: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """``scripts/flink-cluster --home HOME ARGS`` as a user types it, against the cluster in the
    folder ``home``: the finished process (``kwargs`` go to :func:`subprocess.run`, e.g. ``timeout``)."""
    return subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "flink-cluster"), "--home", str(home), *args],
        cwd=PROJECT_ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        **kwargs,
    )


def lines(records) -> list[str]:
    return [r if isinstance(r, str) else json.dumps(r) for r in records]


class AwaitCheckpoints(MapFunction):
    """Passes records through, slowly until ``count`` checkpoints have completed, then at full speed.

    Slowing the input (not stopping it: a task checkpoints between two records) makes the
    checkpoints fall while the job's operators hold state, whatever the machine's speed. Each
    parallel instance writes the highest checkpoint it saw, and how many files the job's
    incremental checkpoints then shared (RocksDB's SST files), to a ``<folder>/seen-<input>-*`` file.
    """

    def __init__(self, folder: str, input_name: str, count: int = 3, pace_s: float = 0.02):
        self.folder, self.input_name, self.count, self.pace_s = folder, input_name, count, pace_s
        self.seen = 0

    def open(self, runtime_context: RuntimeContext):
        # One file per parallel instance (PyFlink 2.2's thread mode cannot tell the subtask index:
        # its RuntimeContext calls a Java method Flink 2 removed).
        self.report = os.path.join(self.folder, f"seen-{self.input_name}-{uuid.uuid4().hex}")

    def map(self, value):
        if self.seen < self.count:
            self.seen = completed_checkpoints(self.folder)
            with open(self.report, "w") as f:
                f.write(f"{self.seen} {len(glob.glob(os.path.join(self.folder, '*', 'shared', '*')))}")
            time.sleep(self.pace_s)  # pacing: checkpoints complete between records
        return value


def completed_checkpoints(folder) -> int:
    """The highest checkpoint id with metadata under a job's checkpoint folder (0 if none)."""
    paths = glob.glob(os.path.join(folder, "*", "chk-*", "_metadata"))
    ids = [int(match.group(1)) for p in paths if (match := re.search(r"chk-(\d+)", p))]
    return max(ids, default=0)


def checkpoints_seen(folder) -> int:
    """The most checkpoints any :class:`AwaitCheckpoints` gate saw completed during the run."""
    return max((int(p.read_text().split()[0]) for p in Path(folder).glob("seen-*")), default=0)


def shared_state_files_seen(folder) -> int:
    """The most files any :class:`AwaitCheckpoints` gate saw in the job's ``shared/`` checkpoint
    folder: the SST files of RocksDB's incremental checkpoints (a heap backend writes none)."""
    return max((int(p.read_text().split()[1]) for p in Path(folder).glob("seen-*")), default=0)


def wait_until(condition, timeout: float, what: str, every: float = 0.5):
    """Poll ``condition`` until it returns something truthy (returned), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f}s"
        time.sleep(every)  # polling
