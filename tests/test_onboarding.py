"""The README's onboarding walkthrough, run line by line as written."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
MARKER = "<!-- onboarding-walkthrough -->"
TIER_MARKER = "<!-- tier-walkthrough -->"
OFFBOARDING_MARKER = "<!-- offboarding-walkthrough -->"


def walkthrough(marker: str = MARKER) -> list[str]:
    readme = (PROJECT_DIR / "README.md").read_text()
    block = re.search(re.escape(marker) + r"\s*```bash\n(.*?)```", readme, re.S)
    assert block, f"the README lost its walkthrough {marker}"
    return [line for line in block.group(1).splitlines() if line.strip()]


def project_copy(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The project's stack files, notebooks and seed data in a scratch folder, and the
    environment that points the commands at it."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.local.yaml"):
        shutil.copy(PROJECT_DIR / name, project / name)
    for folder in ("notebooks", "seed_data"):
        shutil.copytree(PROJECT_DIR / folder, project / folder)
    (project / ".venv").symlink_to(Path(sys.prefix))  # the README's `.venv/bin/...`
    return project, {**os.environ, "SALESTALK_PROJECT_DIR": str(project)}


def run_step(step: str, project: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-c", step], cwd=project, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"{step}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.kernel  # its walkthrough renders a report (a notebook kernel)
def test_the_onboarding_walkthrough_works_as_written(endpoint_url, tmp_path):
    project, env = project_copy(tmp_path)
    steps = walkthrough()
    assert [s.split()[0] for s in steps] == [
        ".venv/bin/salestalk",
        ".venv/bin/salestalk",
        ".venv/bin/salestalk",
        ".venv/bin/salestalk",
    ]
    for step in steps:
        out = run_step(step, project, env)
        if "ingest metrics" in step:
            assert "globex-003 metrics: 10 received: 10 written" in out
        if " report " in step:  # it prints the page it wrote
            assert out == f"{project / 'reports/02_explore_metrics-globex-003.html'}\n"

    assert "tenantId: globex-003" in (project / "Pulumi.local.yaml").read_text()
    executed = json.loads((project / "reports/02_explore_metrics-globex-003.ipynb").read_text())
    texts = [  # printed lines, and the notes the sections show as prose (HTML)
        "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/html", ""))
        for cell in executed["cells"]
        for output in cell.get("outputs", [])
    ]
    assert any("globex-003: 10 figures of" in text for text in texts)
    page = (project / "reports/02_explore_metrics-globex-003.html").read_text()
    assert "globex-003" in page and "image/png" in page
    # the same code-free page `salestalk up` writes: no code, no parameter cell, a header
    assert "open_workspace" not in page and 'tenant_id = "' not in page
    assert "report generated" in page


def test_the_tier_walkthrough_moves_a_trial_tenant_from_the_pool_to_its_own_tables(
    endpoint_url, tmp_path
):
    project, env = project_copy(tmp_path)
    outputs = [(step, run_step(step, project, env)) for step in walkthrough(TIER_MARKER)]
    said = "\n".join(out for _, out in outputs)
    assert "initech-004 metrics: 10 received: 10 written" in said
    assert "is moving from pool to silo (moveTo)" in said
    assert "tables are not there yet" in said
    assert "copied metrics: 10 read from pool-metrics, 10 written to tenant-initech-004" in said
    assert "verified messages: 2 records, the same in both tiers" in said
    pooled, siloed = (out for step, out in outputs if "query series" in step)
    assert "2025-Q4" in pooled and re.search(r"819,?000", pooled)
    assert siloed == pooled  # the same query, the same answer, from either tier
    assert "would delete 10 records of initech-004 from pool-metrics" in said  # --dry-run
    assert "dry run: nothing was deleted" in said
    assert "deleted 10 items of initech-004 from pool-metrics" in said
    stack = (project / "Pulumi.local.yaml").read_text()
    assert "tier: silo" in stack and "moveTo" not in stack and "copyLeftIn" not in stack
    assert stack.startswith("# The local stack")  # its comments kept


def test_the_offboarding_walkthrough_exports_then_erases_a_tenant(endpoint_url, tmp_path):
    project, env = project_copy(tmp_path)
    outputs = [(step, run_step(step, project, env)) for step in walkthrough(OFFBOARDING_MARKER)]
    said = "\n".join(out for _, out in outputs)
    assert "tenant 'initech-004' is offboarding (was active): it takes no new data" in said
    export = project / "reports" / "initech-004-export"
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["files"]["metrics"]["records"] == 10
    assert len((export / "metrics.jsonl").read_text().splitlines()) == 10
    assert "deleted 10 items of initech-004 from pool-metrics" in said
    assert "removed from the roster" in said
    assert "initech-004" not in (project / "Pulumi.local.yaml").read_text()
    (record,) = (project / ".salestalk" / "erasures").glob("initech-004-*.json")
    assert json.loads(record.read_text())["poolItemsDeleted"]["pool-metrics"] == 10
    query = next(out for step, out in outputs if "query tenants" in step)
    assert "initech-004" not in query
