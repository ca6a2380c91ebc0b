"""Any job with one injected failure, for the exactly-once test (tests/test_exactly_once.py).

A filter on the job's first input fails the job once: ``--records-after-checkpoint``
records after it has seen the job's first completed checkpoint (a ``chk-*/_metadata`` file under
``--checkpoints``), so the failed attempt has written output that is not committed yet. Until then
it paces the input a little, so the failure lands mid-stream however fast the machine is; after
it, a marker file makes every later attempt pass records through untouched.

``--failure-mode always`` throws on every record of every attempt: a failure no restart can fix.
``--failure-mode kill`` does not throw: it writes the marker and slows down to 50 ms a record, so
that the test, which waits for the marker, kills the TaskManager process while the job runs.
Flink then restarts the job from that checkpoint: Kafka offsets, window state and the sink's
open transactions all roll back to it.

    flink run ... -py tests/flaky_job.py --job sessions --checkpoints DIR --failure-marker FILE <sessions options>
"""

from __future__ import annotations

import argparse
import glob
import importlib
import os
import time

from pyflink.datastream.functions import FilterFunction

from runner.cli import run_command
from runner.environment import LOCAL_RESTARTS

#: LOCAL_RESTARTS' backoff, shortened: the same attempts, 0.1 s apart instead of 1-8 s.
QUICK_BACKOFF = {
    "restart-strategy.exponential-delay.initial-backoff": "100 ms",
    "restart-strategy.exponential-delay.max-backoff": "100 ms",
}
MESSAGE = "injected failure after the first completed checkpoint (tests/flaky_job.py)"
ALWAYS = "injected failure on every record (tests/flaky_job.py)"


class FailOnceAfterCheckpoint(FilterFunction):
    def __init__(
        self, checkpoints: str, marker: str, records_after_checkpoint: int, mode: str = "raise", pace_s: float = 0.005
    ):
        self.mode = mode
        self.checkpoints = checkpoints
        self.marker = marker
        self.records_after_checkpoint = records_after_checkpoint
        self.pace_s = pace_s
        self.after_checkpoint = 0

    def filter(self, value) -> bool:
        if self.mode == "always":  # a deterministic failure: every attempt fails the same way
            raise RuntimeError(ALWAYS)
        if self.after_checkpoint > self.records_after_checkpoint:  # kill mode: waiting to be killed
            time.sleep(0.05)
            return True
        if os.path.exists(self.marker):
            return True
        if self.after_checkpoint or glob.glob(os.path.join(self.checkpoints, "*", "chk-*", "_metadata")):
            self.after_checkpoint += 1
            if self.after_checkpoint > self.records_after_checkpoint:
                with open(self.marker, "w") as f:
                    f.write("failed once\n")
                if self.mode == "raise":
                    raise RuntimeError(MESSAGE)
        time.sleep(self.pace_s)  # keep records coming until the failure
        return True


def main(argv=None) -> int:
    injected = argparse.ArgumentParser(add_help=False)
    injected.add_argument("--job", required=True, help="the job module under jobs/, e.g. sessions")
    injected.add_argument("--checkpoints", required=True, help="the job's execution.checkpointing.dir (a path)")
    injected.add_argument("--failure-marker", required=True)
    injected.add_argument("--records-after-checkpoint", type=int, default=100)
    injected.add_argument("--failure-mode", choices=["raise", "kill", "always"], default="raise")
    known, rest = injected.parse_known_args(argv)
    job = importlib.import_module(f"jobs.{known.job}").JOB
    fail = FailOnceAfterCheckpoint(
        known.checkpoints, known.failure_marker, known.records_after_checkpoint, known.failure_mode
    )
    first = job.inputs[0].name

    def failing_build(t_env, streams, options):
        failing = streams[first].filter(fail).name("inject-failure").uid("inject-failure")
        return job.build(t_env, {**streams, first: failing}, options)

    # A failure no restart fixes goes through the local restart strategy's attempts at a test's pace.
    overrides = {**LOCAL_RESTARTS, **QUICK_BACKOFF} if known.failure_mode == "always" else None
    return run_command(job, rest, build=failing_build, overrides=overrides)


if __name__ == "__main__":
    import sys

    from tests import flaky_job  # by reference: see runner.cli.main

    sys.exit(flaky_job.main())
