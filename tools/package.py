"""Zips the job code for ``flink run --pyFiles``: ``python -m tools.package [--out build/pyflink-jobs.zip]``.

``--pyFiles`` puts each entry on the Python path as it is: a folder ``udfs/`` would make
``import options`` work, not ``import udfs``. A zip with the packages at its root makes
``import udfs`` and ``import jobs.sessions`` work on the client and in the cluster's Python
workers alike (zipimport).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import zipfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("udfs", "jobs", "runner")
DEFAULT_OUT = PROJECT_ROOT / "build" / "pyflink-jobs.zip"


def package(out: Path = DEFAULT_OUT, packages=PACKAGES, root: Path = PROJECT_ROOT) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    # a temporary file of its own: packagings of the same zip may run at once
    handle, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(handle)
    tmp = Path(name)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in packages:
            if (root / name).is_file():  # a single module, in its (namespace) package's folder
                archive.write(root / name, Path(name).as_posix())
                continue
            for path in sorted((root / name).rglob("*.py")):
                archive.write(path, path.relative_to(root).as_posix())
    tmp.replace(out)  # atomic: a concurrent flink run never sees half a zip
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.package", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("packages", nargs="*", default=list(PACKAGES))
    args = parser.parse_args(argv)
    print(package(args.out, args.packages))


if __name__ == "__main__":
    main()
