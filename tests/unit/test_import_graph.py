"""The project's modules import each other without a cycle (at module level or inside functions),
and ``udfs/`` never imports ``jobs/`` or ``runner/``: a module can be read, tested and changed from
the bottom of the graph up."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bench", "jobs", "runner", "samples", "tools", "udfs")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``path`` imports, wherever the import statement is."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from package import module`` imports the module; ``from module import name`` the module.
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    found.discard(module_name(path))
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(path, modules) for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_through_others():
    assert cycles(graph()) == []


def test_udfs_import_neither_jobs_nor_the_runner():
    offending = {
        name: sorted(i for i in imported if i.split(".")[0] in ("jobs", "runner", "bench"))
        for name, imported in graph().items()
        if name.split(".")[0] == "udfs"
    }
    assert {name: found for name, found in offending.items() if found} == {}


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_runner_names_no_job():
    """The runner serves any job the same way: nothing in runner/ names one, as a module
    (``jobs.sessions``) or a name to compare with (``"late_data"``); a job's needs are declared on
    its Job. (A word like "sessions" in prose is the concept, not the job.)"""
    names = "|".join(p.stem for p in (ROOT / "jobs").glob("*.py"))
    pattern = re.compile(
        rf"jobs\.({names})\b|[\"']({names})[\"']|\b({'|'.join(n for n in names.split('|') if '_' in n)})\b"
    )
    found = {
        p.name: sorted({m.group(0) for m in pattern.finditer(p.read_text())}) for p in (ROOT / "runner").glob("*.py")
    }
    assert {file: names for file, names in found.items() if names} == {}
