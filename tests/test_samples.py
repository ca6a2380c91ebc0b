"""Every job, run through its real main() on the bundled samples with the file sink: it must finish,
write every output folder, and account for every input record (main() returns 1 otherwise)."""

import importlib
import pkgutil

import pytest

import jobs

JOBS = sorted(m.name for m in pkgutil.iter_modules(jobs.__path__))


@pytest.mark.parametrize("name", JOBS)
def test_job_runs_on_the_bundled_samples(name, tmp_path, capsys):
    job = importlib.import_module(f"jobs.{name}")
    assert job.main(["--sink", "file", "--output", str(tmp_path)]) == 0, capsys.readouterr().err[-2000:]
    summary = capsys.readouterr().err
    assert "nothing lost" in summary, summary
    written = {p.name for p in tmp_path.iterdir() if p.is_dir()}
    assert "errors" in written and len(written) >= 2, written
