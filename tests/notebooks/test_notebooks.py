"""The notebooks: stored clean, thin, and executed headless against the embedded endpoint."""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

import nbformat
import pytest

from ingestion.notebook_support.html_reports import NOTEBOOKS, NotebookRun, execute, planned_runs
from tests.support.ports import free_port

PROJECT_DIR = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = PROJECT_DIR / "notebooks"
PATHS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
TENANTS = ["acme-corp-001", "techstart-inc-002"]


def code_cells(path: Path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_every_notebook_is_listed_for_the_main_job():
    assert [p.stem for p in PATHS] == [stem for stem, _ in NOTEBOOKS]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    for cell in code_cells(path):
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_a_parameters_cell_for_papermill(path):
    tagged = [c for c in code_cells(path) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert "stack = " in tagged[0].source


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebooks_hold_no_logic_of_their_own(path):
    """No functions or classes, and imports only from the project's packages (plus display)."""
    for cell in code_cells(path):
        source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
        tree = ast.parse(source)
        for node in ast.walk(tree):
            assert not isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Lambda)
            if isinstance(node, ast.ImportFrom):
                assert node.module.split(".")[0] in {"ingestion", "tenancy", "IPython"}
            if isinstance(node, ast.Import):
                assert {alias.name for alias in node.names} <= {"pandas"}


def html_text(html: str) -> str:
    """What a reader sees of an HTML output: its cells' text, one per line."""
    without_style = re.sub(r"<style.*?</style>", "", html, flags=re.S)
    return "\n".join(t.strip() for t in re.split(r"<[^>]+>", without_style) if t.strip())


def outputs(executed: Path) -> tuple[str, int]:
    book = json.loads(executed.read_text())
    text, images = [], 0
    for cell in book["cells"]:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
            if output["output_type"] == "stream":
                text.append(
                    output["text"] if isinstance(output["text"], str) else "".join(output["text"])
                )
            data = output.get("data", {})
            images += "image/png" in data
            text.append("".join(data.get("text/plain", "")))
            text.append(html_text("".join(data.get("text/html", ""))))
    return "\n".join(text), images


def run(path_stem: str, tmp_path: Path, **parameters: object) -> tuple[str, int, Path]:
    notebook = NOTEBOOK_DIR / f"{path_stem}.ipynb"
    name = "-".join([path_stem, *(v for v in parameters.values() if isinstance(v, str))])
    executed, page = execute(
        NotebookRun(notebook, {"stack": "local", **parameters}, name), tmp_path
    )
    assert page.read_text().startswith("<!DOCTYPE html>")
    text, images = outputs(executed)
    return text, images, page


@pytest.mark.kernel
def test_seed_and_inspect(endpoint_url, tmp_path):
    # every demo tenant has 4 messages: the sample holds them all, whatever the engine's order
    text, _, _ = run("01_seed_and_inspect", tmp_path, sample_size=4)
    assert "tables: 7" in text and "seed data: 30 received" in text
    for table in (
        "tenants-metadata",
        "tenant-acme-corp-001-messages",
        "tenant-techstart-inc-002-metrics",
    ):
        assert table in text
    assert "OwnerEmailIndex" in text and "on-demand" in text
    assert "classification.intent" in text and "2026-01-12 10:00:00" in text
    assert "'intent'" not in text and "1768212000" not in text  # not a dict, not epoch seconds


@pytest.mark.kernel
@pytest.mark.parametrize("tenant", TENANTS)
def test_explore_metrics_with_papermill_for_each_demo_tenant(endpoint_url, tmp_path, tenant):
    text, images, _ = run("02_explore_metrics", tmp_path, tenant_id=tenant)
    assert re.search(rf"{tenant}: 10 figures of 5 subjects; newest period 2025-Q4", text)
    # its peers are anonymous, and two demo tenants make too few of them to show a figure
    other = next(t for t in TENANTS if t != tenant)
    assert other not in text
    assert "fewer than 3 other tenants report margin in percent: no peer figures" in text
    unit = "USD" if tenant == "acme-corp-001" else "EUR"
    assert f"no other tenant reports revenue in {unit}: nothing to compare; 1 other" in text
    assert images >= 3  # the series, the headline panel, the breakdown


@pytest.mark.kernel
def test_explore_metrics_names_the_other_tenants_only_when_asked(endpoint_url, tmp_path):
    text, images, _ = run("02_explore_metrics", tmp_path, tenant_id="acme-corp-001",
                          name_peers=True)  # fmt: skip
    assert "margin in percent for every tenant: comparable" in text
    assert "techstart-inc-002" in text
    assert "revenue is reported in different units" in text
    assert images >= 4  # with the named comparison


@pytest.mark.kernel
def test_a_report_reads_as_a_report(endpoint_url, tmp_path):
    """Its own title, the tenant and time at the top, the summary first, and no code: not the
    notebook's default parameters (acme-corp-001) above papermill's (techstart-inc-002)."""
    import html as entities
    import re

    _, _, page = run("02_explore_metrics", tmp_path, tenant_id="techstart-inc-002")
    html = page.read_text()
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title and entities.unescape(title[1]) == "Explore a tenant's metrics: techstart-inc-002"
    assert "open_workspace" not in html and "tenant_id =" not in html  # no code cells
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html.split("<body", 1)[1], flags=re.S)
    text = " ".join(entities.unescape(re.sub(r"<[^>]+>", " ", body)).split())
    assert re.search(r"tenant techstart-inc-002 , stack local ; report generated \d{4}-", text)
    summary, series = text.index("Summary"), text.index("Time series")
    assert "acme-corp-001" not in text[:summary]
    assert "arr" in text[summary:series] and "EUR" in text[summary:series]
    assert not re.search(r"\bnan\b", text[summary:series], re.I)
    for raw in ("NaN", "None", "True", "17600000.0", "Picker", "Output("):
        assert raw not in text, raw  # figures as people write them, no object reprs
    assert "17,600,000" in text and "19,400,000 EUR" in text


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("tenant", "newest"),
    [("acme-corp-001", "2026-01-14 10:00"), ("techstart-inc-002", "2026-01-21 10:00")],
)
def test_conversations(endpoint_url, tmp_path, tenant, newest):
    text, images, _ = run("03_conversations", tmp_path, tenant_id=tenant)
    assert f"{tenant}: 2 sessions, 4 messages; newest message {newest} UTC" in text
    assert "MISSING" not in text and "salestalk-metrics" in text  # every cited figure found
    assert "external record in" in text
    assert images == 1


@pytest.mark.kernel
@pytest.mark.engine
def test_run_all_on_a_fresh_machine_starts_an_endpoint_that_outlives_the_kernel(
    tmp_path, monkeypatch
):
    """The endpoint a notebook starts is a background one, as `salestalk local start` makes:
    when that notebook's kernel is shut down, every other notebook keeps its endpoint."""
    from tenancy.endpoint_probe import answers

    port = free_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{port}")
    try:
        text, _, _ = run("01_seed_and_inspect", tmp_path)  # its kernel is gone afterwards
        assert f"at http://127.0.0.1:{port} (started just now, in the background" in text
        assert "seed data: 30 received: 30 written" in text
        assert answers(f"http://127.0.0.1:{port}")
        again, _, _ = run("02_explore_metrics", tmp_path, tenant_id="acme-corp-001")
        assert f"stack 'local' at http://127.0.0.1:{port}\n" in again  # says which, reuses it
    finally:
        stop_and_forget(port)


def test_the_main_job_plans_every_notebook_per_tenant():
    runs = planned_runs(PROJECT_DIR, "local", TENANTS)
    assert [r.name for r in runs] == [
        "01_seed_and_inspect",
        "02_explore_metrics-acme-corp-001",
        "02_explore_metrics-techstart-inc-002",
        "03_conversations-acme-corp-001",
        "03_conversations-techstart-inc-002",
    ]
    assert os.path.isabs(runs[0].notebook)


@pytest.mark.kernel
def test_a_failing_cell_fails_the_run(tmp_path):
    from papermill.exceptions import PapermillExecutionError

    book = nbformat.v4.new_notebook()
    book.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    book.cells = [
        nbformat.v4.new_code_cell("stack = 'local'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("raise ValueError('broken on purpose')"),
    ]
    path = tmp_path / "broken.ipynb"
    nbformat.write(book, path)
    with pytest.raises(PapermillExecutionError, match="broken on purpose"):
        execute(NotebookRun(path, {"stack": "local"}, "broken"), tmp_path / "out")


LARGE_SUBJECTS = 1_000
LARGE_PERIODS = 20  # 20,000 figures: the large tenant of the issue


def large_tenant_metrics(tenant_id: str):
    """1,000 subjects across the metric types, each a monthly total over 20 months."""
    from ingestion.records.contracts import MetricType

    types = list(MetricType)
    for n in range(LARGE_SUBJECTS * LARGE_PERIODS):
        subject, month = divmod(n, LARGE_PERIODS)
        yield {
            "tenantId": tenant_id,
            "subject": f"kpi_{subject:04d}",
            "period": f"{2024 + month // 12}-{month % 12 + 1:02d}",
            "metricType": types[subject % len(types)].value,
            "value": 1000 + subject + month,
            "unit": "count",
            "confidence": 0.9,
            "source": "netsuite",
            "sourceId": f"GL-{n:06d}",
        }


@pytest.mark.kernel
@pytest.mark.engine
def test_a_tenant_with_1000_subjects_stays_readable(tmp_path, monkeypatch):
    """After a 20,000-figure ingest, the report shows the headline and the busiest series
    (not 1,000 columns), lists the subjects by metric type in a handful of rows, and a chosen
    subset replaces the default; its size stays that of a report, not of a data dump."""
    from ingestion.notebook_support.dataframes import MAX_SHOWN_SERIES
    from ingestion.notebook_support.workspace import open_workspace
    from ingestion.records.items import METRIC
    from ingestion.records.sources import SourceRecord
    from ingestion.writing.writer import TenantWriter

    port = free_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{port}")
    try:
        workspace = open_workspace("local", project_dir=PROJECT_DIR)
        report = TenantWriter(workspace.client, workspace.settings, "acme-corp-001", METRIC).ingest(
            SourceRecord(f"figure {n}", data=record)
            for n, record in enumerate(large_tenant_metrics("acme-corp-001"), start=1)
        )
        assert report.written == LARGE_SUBJECTS * LARGE_PERIODS

        text, images, page = run("02_explore_metrics", tmp_path, tenant_id="acme-corp-001")
        book = json.loads((tmp_path / "02_explore_metrics-acme-corp-001.ipynb").read_text())
        series_tables = [
            "".join(o["data"]["text/html"])
            for c in book["cells"]
            if "time_series" in "".join(c["source"])
            for o in c.get("outputs", [])
            if "text/html" in o.get("data", {})
        ]
        (series,) = series_tables
        assert series.count('class="col_heading level0') <= MAX_SHOWN_SERIES
        assert "1,005 subjects" in text and "(and 997 more, listed by metric type below)" in text
        assert len(re.findall(r"kpi_\d{4}, \u2026 and \d+ more", text)) == 6  # one per type
        assert "kpi_0999" not in text  # no wall of names
        assert images <= 2 + MAX_SHOWN_SERIES
        assert page.stat().st_size < 2_000_000

        chosen, _, _ = run(
            "02_explore_metrics",
            tmp_path / "chosen",
            tenant_id="acme-corp-001",
            subjects=["kpi_0999", "kpi_0500"],
            metric="kpi_0500",
        )
        assert "shown: kpi_0999, kpi_0500 (and 1,003 more" in chosen
    finally:
        stop_and_forget(port)


@pytest.mark.kernel
def test_every_notebook_reads_a_pooled_tenant_as_a_siloed_one(endpoint_url, tmp_path, project_copy):
    """TechStart moved to the pool (its roster entry says `tier: pool`): the same notebooks,
    the same figures, read from the pool tables beside the other tenant's tables."""
    import shutil

    from tenancy.stack_file import StackFile

    shutil.copytree(PROJECT_DIR / "seed_data", project_copy / "seed_data")
    StackFile.load("local").update_tenant("techstart-inc-002", {"tier": "pool"})
    tenant = "techstart-inc-002"
    text, _, _ = run("01_seed_and_inspect", tmp_path)
    assert "tables: 5" in text and "pool-messages" in text and "pool-metrics" in text
    assert "tenant-techstart-inc-002-messages" not in text
    text, images, _ = run("02_explore_metrics", tmp_path, tenant_id=tenant)
    assert f"{tenant}: 10 figures of 5 subjects; newest period 2025-Q4" in text
    assert "19,400,000 EUR" in text and images >= 3
    text, images, _ = run("03_conversations", tmp_path, tenant_id=tenant)
    assert f"{tenant}: 2 sessions, 4 messages; newest message 2026-01-21 10:00 UTC" in text
    assert "MISSING" not in text and images == 1


LARGE_MESSAGES = 12_000  # over 1,200 sessions: more than a report's bounded read of 5,000


@pytest.mark.kernel
@pytest.mark.engine
def test_a_tenant_with_many_sessions_still_gets_a_report(tmp_path, monkeypatch):
    """The conversations report of a tenant with 12,000 messages: the newest sessions of a
    bounded read, said to be so; `sessions` shows others, a long one in part."""
    from ingestion.notebook_support.conversation_sections import (
        MESSAGES_PER_SESSION,
        SHOWN_SESSIONS,
    )
    from ingestion.notebook_support.table_inventory import SESSION_SAMPLE
    from ingestion.notebook_support.workspace import open_workspace
    from ingestion.records.items import MESSAGE
    from ingestion.records.sources import SourceRecord
    from ingestion.writing.strategies import WriteMode
    from ingestion.writing.writer import TenantWriter
    from tests.ingestion.conftest import make_message

    port = free_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{port}")
    tenant = "acme-corp-001"
    try:
        workspace = open_workspace("local", project_dir=PROJECT_DIR)
        records = [make_message(n, tenant) for n in range(LARGE_MESSAGES)]
        # one long conversation, the newest of all
        records += [
            make_message(
                LARGE_MESSAGES + n, tenant, sessionId="sess-long", timestamp=1_770_000_000 + n
            )
            for n in range(MESSAGES_PER_SESSION + 50)
        ]
        TenantWriter(
            workspace.client, workspace.settings, tenant, MESSAGE, mode=WriteMode.BATCH
        ).ingest(SourceRecord(f"item {n}", data=r) for n, r in enumerate(records, start=1))
        text, images, page = run("03_conversations", tmp_path, tenant_id=tenant)
        assert f"the newest {SHOWN_SESSIONS} sessions among the " in text
        assert f"found in {SESSION_SAMPLE:,} of its messages (a bounded read" in text
        assert page.stat().st_size < 3_000_000 and images == 1

        chosen, _, _ = run(
            "03_conversations",
            tmp_path / "chosen",
            tenant_id=tenant,
            sessions=["sess-00007", "sess-long"],
        )
        assert f"{tenant}: 2 sessions, {10 + MESSAGES_PER_SESSION} messages" in chosen
        assert "; 1 session shown in part (the first 200 messages)" in chosen
    finally:
        stop_and_forget(port)


def stop_and_forget(port: int) -> None:
    """Stop the engine a notebook started in the project's state folder, and delete the data
    it saved there on stopping (the default engine keeps its state across a restart)."""
    import shutil

    from tenancy.local.endpoint import LocalEndpoint

    endpoint = LocalEndpoint(PROJECT_DIR / ".salestalk", port=port)
    endpoint.stop()
    if endpoint.data_dir is not None:
        shutil.rmtree(endpoint.data_dir, ignore_errors=True)
