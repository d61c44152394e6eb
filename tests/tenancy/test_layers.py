"""The command line sits at the end of the chain: no module of the platform imports it, only
the command modules themselves (which the `salestalk` parser loads through entry points)."""

from __future__ import annotations

import ast
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
# The command line: the parser and what commands share, and each group's commands.
COMMAND_LINE = {
    "tenancy.cli",
    "tenancy.cli.app",
    "tenancy.cli.common",
    "tenancy.cli.__main__",
    "tenancy.commands",
    "tenancy.local.commands",
    "ingestion.commands",
    "ingestion.lifecycle.commands",
    "ingestion.main_job",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_module_below_the_command_line_imports_it():
    below = {
        _module_name(path): path
        for package in ("tenancy", "ingestion")
        for path in (PROJECT_DIR / package).rglob("*.py")
        if _module_name(path) not in COMMAND_LINE
    }
    assert len(below) > 40  # the walk found the packages
    upward = sorted(
        f"{name} imports {imported}"
        for name, path in below.items()
        for imported in _imports(path)
        if imported in COMMAND_LINE
    )
    assert upward == []


def test_the_pulumi_program_imports_no_command_line():
    assert not (_imports(PROJECT_DIR / "__main__.py") & COMMAND_LINE)
