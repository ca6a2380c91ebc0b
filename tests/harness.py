"""Run a job's real pipeline (parsing, event time, the job's operators, counting) on in-memory
records and collect every output: the tests' bounded sources and collecting sink."""

from __future__ import annotations

import glob
import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import Sequence

from pyflink.common import Types
from pyflink.datastream.functions import MapFunction, RuntimeContext

from udfs.environment import create_environment
from udfs.runner import assemble
from udfs.sinks import collect

#: The environment before any job ran: PyFlink's process mode (loopback worker) later sets
#: variables in this process, among them PYFLINK_GATEWAY_DISABLED, that stop a child job starting.
#: conftest imports this module first, so the snapshot is taken at collection.
_ENV_AT_START = dict(os.environ)


def child_env(**overrides: str) -> dict[str, str]:
    """The environment for a subprocess that starts PyFlink (a CLI run, `flink run`)."""
    return {**_ENV_AT_START, **overrides}


def run_job(job, argv: Sequence[str] = (), checkpoints: Path | None = None,
            **inputs: Sequence[str]) -> dict[str, list[dict]]:
    """``run_job(jobs.sessions, ["--gap", "3s"], events=[...lines])`` -> ``{output: [records]}``.

    With ``checkpoints`` (a folder; the job needs ``--checkpoint-interval``), checkpoints are
    written there, any failed checkpoint fails the job (no restart hides it), and every input
    passes an :class:`AwaitCheckpoints` gate, so checkpoints complete while the job holds state.
    """
    options = job.options(list(argv))
    overrides = None
    if checkpoints is not None:
        overrides = {
            "execution.checkpointing.dir": Path(checkpoints).resolve().as_uri(),
            "execution.checkpointing.tolerable-failed-checkpoints": "0",
            "restart-strategy.type": "none",
        }
    env, t_env = create_environment(options, overrides)
    sources = {spec.name: env.from_collection(list(inputs[spec.name]), Types.STRING()) for spec in options.inputs}
    if checkpoints is not None:
        sources = {name: source.map(AwaitCheckpoints(str(checkpoints), name), Types.STRING()).name(f"await-{name}")
                   for name, source in sources.items()}
    outputs = assemble(t_env, options, sources, job.pipeline(options))
    return collect(outputs, options.job)


def lines(records) -> list[str]:
    return [r if isinstance(r, str) else json.dumps(r) for r in records]


def canonical(records) -> list[str]:
    """Order-free comparison form of a list of output records."""
    return sorted(json.dumps(r, sort_keys=True) for r in records)


class AwaitCheckpoints(MapFunction):
    """Passes records through, slowly until ``count`` checkpoints have completed, then at full speed.

    Slowing the input (not stopping it: a task checkpoints between two records) makes the
    checkpoints fall while the job's operators hold state, whatever the machine's speed. Each
    parallel instance writes the highest checkpoint it saw to a ``<folder>/seen-<input>-*`` file.
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
                f.write(str(self.seen))
            time.sleep(self.pace_s)  # pacing: checkpoints complete between records
        return value


def completed_checkpoints(folder) -> int:
    """The highest checkpoint id with metadata under a job's checkpoint folder (0 if none)."""
    ids = [int(re.search(r"chk-(\d+)", p).group(1)) for p in glob.glob(os.path.join(folder, "*", "chk-*", "_metadata"))]
    return max(ids, default=0)


def checkpoints_seen(folder) -> int:
    """The most checkpoints any :class:`AwaitCheckpoints` gate saw completed during the run."""
    return max((int(p.read_text()) for p in Path(folder).glob("seen-*")), default=0)
