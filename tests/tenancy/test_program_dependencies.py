"""The Pulumi program's virtualenv needs only what the program imports: `pip install -e .`
brings no local tooling, notebook or test library, and the program reaches none of them."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

PROJECT_DIR = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())


def distribution_names(requirements: list[str]) -> set[str]:
    names = {Requirement(text).name.lower().replace("_", "-") for text in requirements}
    return names - {"salestalk-data-platform"}


def program_imports() -> list[str]:
    """The modules `__main__.py` imports, read from its source."""
    tree = ast.parse((PROJECT_DIR / "__main__.py").read_text())
    modules = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.append(node.module)
    return modules


def distributions_reached() -> set[str]:
    """Every distribution whose modules are loaded once the program's imports are done, in
    a fresh interpreter (the import graph, not a guess)."""
    code = f"""
import importlib, importlib.metadata as md, json, sys
sys.path.insert(0, {str(PROJECT_DIR)!r})
for name in {program_imports()!r}:
    importlib.import_module(name)
owners = md.packages_distributions()
roots = {{m.split(".")[0] for m in sys.modules}}
print(json.dumps(sorted({{d for r in roots for d in owners.get(r, [])}})))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.lower().replace("_", "-") for name in json.loads(done.stdout)}


def test_the_program_reaches_no_library_of_an_extra():
    extras = PYPROJECT["project"]["optional-dependencies"]
    only_in_extras = set().union(*(distribution_names(v) for v in extras.values()))
    only_in_extras -= distribution_names(PYPROJECT["project"]["dependencies"])
    reached = distributions_reached()
    assert {"pulumi", "pulumi-aws", "pydantic"} <= reached
    assert reached & only_in_extras == set()
    for library in ("pandas", "matplotlib", "papermill", "jupyterlab", "pytest"):
        assert library in only_in_extras  # each is declared in an extra, not for the program


def test_the_program_imports_only_declared_dependencies_and_its_own_packages():
    declared = distribution_names(PYPROJECT["project"]["dependencies"])
    for module in program_imports():
        root = module.split(".")[0]
        assert root in {"tenancy", "gc"} or root.replace("_", "-") in declared, module


def test_the_constraints_ci_installs_satisfy_every_declared_range():
    pins = {}
    for line in (PROJECT_DIR / ".ci" / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    project = PYPROJECT["project"]
    extras = [text for texts in project["optional-dependencies"].values() for text in texts]
    declared = [*project["dependencies"], *extras]
    for text in declared:
        requirement = Requirement(text)
        name = requirement.name.lower().replace("_", "-")
        if name == "salestalk-data-platform":
            continue
        assert name in pins, f"{name} is declared but CI's constraints do not pin it"
        assert requirement.specifier.contains(pins[name]), (text, pins[name])
