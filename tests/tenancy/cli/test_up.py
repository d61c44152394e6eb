"""`salestalk up`, the main job, end to end in a scratch copy of the project."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tenancy.cli import main
from tenancy.endpoint_probe import answers
from tests.support.ports import free_port

pytestmark = [pytest.mark.kernel, pytest.mark.engine]

PROJECT_DIR = Path(__file__).resolve().parents[3]


@pytest.fixture
def project(tmp_path, monkeypatch):
    for name in ("Pulumi.yaml", "Pulumi.local.yaml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    for folder in ("notebooks", "seed_data"):
        shutil.copytree(PROJECT_DIR / folder, tmp_path / folder)
    port = free_port()
    monkeypatch.setenv("SALESTALK_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{port}")
    yield tmp_path, port
    main(["local", "stop", "--port", str(port)])


def test_the_main_job_twice(project, capsys):
    folder, port = project
    assert main(["up"]) == 0
    out = capsys.readouterr().out
    for step in ("[1/5] local DynamoDB engine", "[2/5] tables", "[3/5] seed data",
                 "[4/5] notebooks, executed headless", "[5/5] done"):  # fmt: skip
        assert step in out
    assert "7 created" in out and "total: 30 received: 30 written" in out
    pages = sorted(p.name for p in (folder / "reports").glob("*.html"))
    assert len(pages) == 5 and "02_explore_metrics-techstart-inc-002.html" in pages
    assert f"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:{port} " in out
    assert f"local stop --port {port}" in out
    assert answers(f"http://127.0.0.1:{port}")  # left running for Jupyter

    assert main(["up", "--skip-notebooks"]) == 0
    out = capsys.readouterr().out
    assert "nothing to start" in out and "nothing to change" in out
    assert "total: 30 received: 0 written, 30 duplicates" in out
    assert main(["seed", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["written"] == 0


def test_the_main_job_refuses_a_remote_endpoint(project, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://dynamodb.internal.example:8000")
    assert main(["up"]) == 2
    assert "a local engine runs on this machine's loopback" in capsys.readouterr().err


def test_a_notebook_that_fails_is_one_line_and_the_other_reports_are_written(project, capsys):
    """One tenant's conversations report fails in a cell: `up` says so in one line naming
    the notebook, the tenant and the log, writes every other report, ends with its summary,
    and exits 1."""
    import nbformat

    folder, _ = project
    path = folder / "notebooks" / "03_conversations.ipynb"
    notebook = nbformat.read(path, as_version=4)
    at = next(n for n, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    failing = "if tenant_id == 'techstart-inc-002':\n    raise RuntimeError('this report broke')"
    notebook.cells.insert(at + 1, nbformat.v4.new_code_cell(failing))
    nbformat.write(notebook, path)

    assert main(["up"]) == 1
    out, err = capsys.readouterr()
    (line,) = [text for text in err.splitlines() if "failed" in text]
    assert "03_conversations for tenant techstart-inc-002 failed: RuntimeError" in line
    log = folder / "reports" / "03_conversations-techstart-inc-002.log"
    assert f"(log: {log})" in line and "this report broke" in log.read_text()
    assert "[5/5] done in" in out and "1 report failed (said above, with the log)" in out
    pages = sorted(p.name for p in (folder / "reports").glob("*.html"))
    assert len(pages) == 4 and "03_conversations-acme-corp-001.html" in pages
