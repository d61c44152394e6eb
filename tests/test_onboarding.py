"""The README's onboarding walkthrough, run line by line as written."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
MARKER = "<!-- onboarding-walkthrough -->"


def walkthrough() -> list[str]:
    readme = (PROJECT_DIR / "README.md").read_text()
    block = re.search(re.escape(MARKER) + r"\s*```bash\n(.*?)```", readme, re.S)
    assert block, "the README lost its onboarding walkthrough"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_onboarding_walkthrough_works_as_written(endpoint_url, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.local.yaml"):
        shutil.copy(PROJECT_DIR / name, project / name)
    for folder in ("notebooks", "seed_data"):
        shutil.copytree(PROJECT_DIR / folder, project / folder)
    (project / ".venv").symlink_to(Path(sys.prefix))  # the README's `.venv/bin/...`
    env = {**os.environ, "SALESTALK_PROJECT_DIR": str(project)}

    steps = walkthrough()
    assert [s.split()[0] for s in steps] == [
        ".venv/bin/salestalk",
        ".venv/bin/salestalk",
        ".venv/bin/salestalk",
        "mkdir",
        ".venv/bin/papermill",
        ".venv/bin/jupyter",
    ]
    for step in steps:
        done = subprocess.run(
            ["bash", "-c", step], cwd=project, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{step}\n{done.stdout}\n{done.stderr}"
        if "ingest metrics" in step:
            assert "globex-003 metrics: 10 received: 10 written" in done.stdout

    assert "tenantId: globex-003" in (project / "Pulumi.local.yaml").read_text()
    executed = json.loads((project / "reports/02_explore_metrics-globex-003.ipynb").read_text())
    texts = [
        "".join(output.get("text", ""))
        for cell in executed["cells"]
        for output in cell.get("outputs", [])
    ]
    assert any("globex-003: 10 figures of" in text for text in texts)
    page = (project / "reports/02_explore_metrics-globex-003.html").read_text()
    assert "globex-003" in page and "image/png" in page
