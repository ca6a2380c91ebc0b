"""Reading a run's outputs back: the one reader of what the file sink (or a Flink SQL file sink)
wrote, and an order-free form to compare outputs by."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path


def read_records(folder: str | Path) -> list[dict]:
    """The JSON records of every finished file under ``folder`` (in-progress files are hidden:
    their names start with ``.``). A record ends at "\n" only: ``str.splitlines`` would also end one
    at a U+2028 or U+0085 inside it, which JSON written with ``ensure_ascii=False`` keeps as it is."""
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file() and not p.name.startswith("."))
    return [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").split("\n") if line.strip()]


def read_file_outputs(directory: str | Path, outputs: Iterable[str]) -> dict[str, list[dict]]:
    """What ``--sink file --output DIRECTORY`` wrote: each output's records, from ``DIRECTORY/<output>/``."""
    return {output: read_records(Path(directory, output)) for output in outputs}


def canonical(records: Iterable) -> list[str]:
    """Order-free comparison form of a list of output records."""
    return sorted(json.dumps(r, sort_keys=True) for r in records)
