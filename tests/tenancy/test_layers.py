"""The command line sits at the end of the chain: it is the `tenancy.cli` package, no module of
the platform imports it, and nothing below it sees an argparse Namespace."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
COMMAND_LINE = "tenancy.cli"


def _in_command_line(module: str) -> bool:
    return module == COMMAND_LINE or module.startswith(COMMAND_LINE + ".")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _imports(path: Path) -> frozenset[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(found)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in ("tenancy", "ingestion")
        for path in (PROJECT_DIR / package).rglob("*.py")
    }


def _below() -> dict[str, Path]:
    below = {name: path for name, path in _modules().items() if not _in_command_line(name)}
    assert len(below) > 40  # the walk found the packages
    return below


def test_no_module_below_the_command_line_imports_it():
    upward = sorted(
        f"{name} imports {imported}"
        for name, path in _below().items()
        for imported in _imports(path)
        if _in_command_line(imported)
    )
    assert upward == []


def test_every_command_lives_in_the_command_line():
    """A module that builds a parser is a command module, and those live in `tenancy.cli`: a
    new command has one home, and no package function is written against a Namespace."""
    parsing = sorted(name for name, path in _below().items() if "argparse" in _imports(path))
    assert parsing == []
    groups = [name for name in _modules() if _in_command_line(name)]
    assert {"tenancy.cli.app", "tenancy.cli.data", "tenancy.cli.up"} <= set(groups)


def test_the_pulumi_program_imports_no_command_line():
    assert not any(_in_command_line(name) for name in _imports(PROJECT_DIR / "__main__.py"))
