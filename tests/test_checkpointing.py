"""Checkpoints in every job, in the default execution mode (thread): the bundled samples (late
records and invalid ones included) run once without checkpoints and once checkpointing every
100 ms, with at least three checkpoints completed while the job holds state and any failed
checkpoint failing the job. Both runs must give exactly the same outputs.

``sessions`` is the case that used to fail: PyFlink's thread mode registered the session window's
``merging-window-set`` state with the window namespace serializer, and every snapshot threw
``ClassCastException: VoidNamespace cannot be cast to TimeWindow`` (udfs/merging_windows.py).
"""

import importlib
import pkgutil

import pytest

import jobs
from runner.cli import SAMPLES
from tests.harness import assert_same_records, checkpoints_seen, run_job

JOBS = sorted(m.name for m in pkgutil.iter_modules(jobs.__path__))
#: Windows in the JVM (``--build jvm``): sessions' is Flink's own merging window state,
#: whose snapshot PyFlink's thread mode once broke for the Python operator; late_data's keeps the
#: trigger's note and the firing number in window state.
JVM_WINDOWS = [("sessions", ["--build", "jvm"]), ("late_data", ["--build", "jvm"])]


CASES: list[tuple[str, list[str]]] = [(name, []) for name in JOBS] + JVM_WINDOWS


@pytest.mark.parametrize(("name", "argv"), CASES)
def test_checkpointed_run_gives_the_same_outputs(name, argv, tmp_path):
    job = importlib.import_module(f"jobs.{name}").JOB
    inputs = {spec.name: (SAMPLES / spec.sample).read_text(encoding="utf-8").splitlines() for spec in job.inputs}

    plain = run_job(job, argv, **inputs)
    checkpointed = run_job(job, [*argv, "--checkpoint-interval", "100ms"], checkpoints=tmp_path, **inputs)

    assert checkpoints_seen(tmp_path) >= 3
    assert_same_records(checkpointed, plain)
    # run_job checked the accounting identity of both runs.
