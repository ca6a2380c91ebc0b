"""Checkpoints in every job, in the default execution mode (thread): the bundled samples (late
records and invalid ones included) run once without checkpoints and once checkpointing every
100 ms, with at least three checkpoints completed while the job holds state and any failed
checkpoint failing the job. Both runs must give exactly the same outputs, on the heap state backend
and on RocksDB (incremental checkpoints), for every build of every job.

``sessions`` is the case that used to fail: PyFlink's thread mode registered the session window's
``merging-window-set`` state with the window namespace serializer, and every snapshot threw
``ClassCastException: VoidNamespace cannot be cast to TimeWindow`` (udfs/merging_windows.py).
"""

import functools
import importlib
import pkgutil

import pytest

import jobs
from runner.cli import SAMPLES
from tests.harness import assert_same_records, checkpoints_seen, run_job, shared_state_files_seen

JOBS = sorted(m.name for m in pkgutil.iter_modules(jobs.__path__))
#: Every fast build (``--build jvm``): sessions' windows are Flink's own merging window state,
#: whose snapshot PyFlink's thread mode once broke for the Python operator; late_data's and
#: global_triggers' keep their triggers' notes in window state; the joins' and moving_average's
#: state is Flink SQL's; inactivity_timeouts' is a Java function's list and value state and timers;
#: event_router's is its side outputs only.
FAST_BUILDS = [
    (name, ["--build", build]) for name in JOBS for build in importlib.import_module(f"jobs.{name}").JOB.fast_builds
]


CASES: list[tuple[str, list[str]]] = [(name, []) for name in JOBS] + FAST_BUILDS
BACKENDS = ["hashmap", "rocksdb"]
#: event_router routes each record on its own: no keyed state, so nothing for RocksDB to write.
WITHOUT_KEYED_STATE = {"event_router"}


def samples(job):
    """Each input of the job: its bundled sample's lines."""
    return {spec.name: (SAMPLES / spec.sample).read_text(encoding="utf-8").splitlines() for spec in job.inputs}


@functools.cache
def plain_run(name: str, argv: tuple[str, ...]) -> dict[str, list[dict]]:
    """The job on its samples without checkpoints, once per build for both backends' runs."""
    job = importlib.import_module(f"jobs.{name}").JOB
    return run_job(job, argv, **samples(job))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("name", "argv"), CASES)
def test_checkpointed_run_gives_the_same_outputs(name, argv, backend, tmp_path):
    job = importlib.import_module(f"jobs.{name}").JOB
    checkpointing = [*argv, "--checkpoint-interval", "100ms", "--state-backend", backend]

    checkpointed = run_job(job, checkpointing, checkpoints=tmp_path, **samples(job))
    plain = plain_run(name, tuple(argv))

    assert checkpoints_seen(tmp_path) >= 3
    if backend == "rocksdb" and name not in WITHOUT_KEYED_STATE:
        # The state was in RocksDB: its incremental checkpoints shared SST files.
        assert shared_state_files_seen(tmp_path) > 0
    elif backend == "hashmap":
        assert shared_state_files_seen(tmp_path) == 0
    assert_same_records(checkpointed, plain)
    # run_job checked the accounting identity of both runs.
