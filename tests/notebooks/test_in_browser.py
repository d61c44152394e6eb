"""The reports and the notebooks as people see them: in a real headless Chromium.

The reports `salestalk up` writes are opened as files and read as a reader reads them (title,
text, figures loaded, tables within the page); notebook 02 is opened in a real JupyterLab,
run with "Run All Cells", and its pickers are used to switch tenant and metric. Screenshots
are left in each test's temporary folder for a person to look at.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestion.notebook_support.html_reports import NotebookRun, execute
from ingestion.notebook_support.saving import JUPYTER_CONFIG
from tests.support.browser import browser_page
from tests.support.ports import free_port

pytestmark = [pytest.mark.browser, pytest.mark.kernel, pytest.mark.engine]

PROJECT_DIR = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = PROJECT_DIR / "notebooks"
WAIT_MS = 180_000  # a cold kernel on a loaded two-core machine takes its time

# Every table a report shows, each as wide as it is and as wide as the page lets it be.
TABLE_WIDTHS = """() => [...document.querySelectorAll('table')].map(t => ({
    width: t.getBoundingClientRect().width,
    room: t.closest('.jp-OutputArea-output, .jp-RenderedHTMLCommon, body').clientWidth,
}))"""
# Every figure: the width it was drawn at, the width it is shown at, and the room it has.
CHARTS = """() => [...document.querySelectorAll('img')].map(i => ({
    natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
    room: i.closest('.jp-OutputArea-output, body').clientWidth,
}))"""
# The font every note of a section is shown in (`readable_tables.note`).
NOTE_FONTS = """() => [...document.querySelectorAll('.salestalk-note')].map(
    p => getComputedStyle(p).fontFamily)"""
# The open notebook's kernel has started, is connected and waits for work.
KERNEL_READY = """() => {
    const kernel = window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel;
    return kernel?.connectionStatus === 'connected' && kernel?.status === 'idle';
}"""
BROKEN_IMAGES = """() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
    .map(i => i.src.slice(0, 60))"""


def render(tmp_path: Path, stem: str, **parameters: str) -> Path:
    name = "-".join([stem, *parameters.values()])
    notebook = NotebookRun(NOTEBOOK_DIR / f"{stem}.ipynb", {"stack": "local", **parameters}, name)
    return execute(notebook, tmp_path)[1]


@pytest.mark.parametrize(
    ("stem", "parameters", "title", "seen"),
    [
        ("01_seed_and_inspect", {}, "Seed and inspect", ["tenant-acme-corp-001-metrics"]),
        (
            "02_explore_metrics",
            {"tenant_id": "techstart-inc-002"},
            "Explore a tenant's metrics: techstart-inc-002",
            ["19,400,000 EUR", "+1,800,000 EUR (+10.2%)", "nothing to compare"],
        ),
        (
            "03_conversations",
            {"tenant_id": "acme-corp-001"},
            "Conversations: acme-corp-001",
            ["How did revenue develop over the last three quarters?", "14,100,000 USD"],
        ),
    ],
    ids=["01", "02", "03"],
)
def test_a_report_in_the_browser(endpoint_url, tmp_path, stem, parameters, title, seen):
    page_file = render(tmp_path, stem, **parameters)
    with browser_page() as page:
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        page.screenshot(path=str(tmp_path / f"{stem}.png"), full_page=True)
        assert page.title() == title
        text = page.inner_text("body")
        for wanted in seen:
            assert wanted in text, wanted
        for raw in ("NaN", "None", "True", "open_workspace", "tenant_id =", "Traceback"):
            assert raw not in text, raw  # no unformatted values, no code, no error
        assert page.evaluate(BROKEN_IMAGES) == []
        for table in page.evaluate(TABLE_WIDTHS):
            assert table["width"] <= table["room"] + 1, table  # no table runs off the page
        # charts drawn for the page (not 400 px in a 1,280 px page), notes in the page's font
        for chart in page.evaluate(CHARTS):
            assert chart["natural"] >= 900 and chart["shown"] >= 0.6 * chart["room"], chart
        for font in page.evaluate(NOTE_FONTS):
            assert "monospace" not in font, font
        # pandas' names of a table's axes ("field", "subject / period") are not shown
        assert {n.strip() for n in page.locator("th.index_name").all_inner_texts()} <= {""}


# JupyterLab's own settings for the test's server: every cell kept in the page (by default
# Lab drops cells scrolled out of view, so a test could not find the pickers at the top once
# Run All has scrolled down), and no question about Jupyter's news.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
}


@contextlib.contextmanager
def jupyter_lab(root: Path, token: str) -> Iterator[str]:
    """A JupyterLab server on a free port serving `root`, with its settings and runtime files
    kept under `root` (nothing of the user's own Jupyter is read or written)."""
    port = free_port()
    home = root / ".jupyter-home"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    command = [
        str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
        f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}", "--ServerApp.allow_root=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True",  # so the test can tell when the kernel is up
        f"--config={JUPYTER_CONFIG}",  # as the README and `salestalk up` say to run it
    ]  # fmt: skip
    for extension, values in LAB_SETTINGS.items():
        settings = home / "settings" / f"{extension}.jupyterlab-settings"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps(values))
    log = (root / "jupyter.log").open("wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        "JupyterLab did not start: " + (root / "jupyter.log").read_text()[-2000:]
                    ) from None
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def dropdown(page, label: str):
    return page.locator(f".widget-dropdown:has(label:text-is('{label}')) select")


def test_pick_the_tenant_and_metric_in_jupyterlab(endpoint_url, tmp_path):
    """Run All in a real JupyterLab: the pickers appear, start from the parameters, and
    switching tenant then metric redraws the sections, with no code edited."""
    shutil.copy(NOTEBOOK_DIR / "02_explore_metrics.ipynb", tmp_path)  # Lab saves into it
    token = "salestalk-test"
    with jupyter_lab(tmp_path, token) as base, browser_page(1400, 1000) as page:
        page.set_default_timeout(WAIT_MS)
        page.goto(f"{base}/lab/tree/02_explore_metrics.ipynb?token={token}")
        page.locator(".jp-Notebook").wait_for()
        page.wait_for_function(KERNEL_READY)  # a Run All sent earlier would be dropped
        page.locator(".lm-MenuBar-itemLabel:text-is('Run')").click()
        page.locator(".lm-Menu-itemLabel:text-is('Run All Cells')").click()

        tenant = dropdown(page, "tenant")
        tenant.wait_for()
        page.get_by_text("acme-corp-001: 10 figures of 5 subjects").wait_for()
        assert tenant.input_value() == "acme-corp-001"
        assert dropdown(page, "metric").input_value() == "revenue"  # ACME's headline
        tenant.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "jupyterlab-acme.png"))

        tenant.select_option("techstart-inc-002")
        page.get_by_text("techstart-inc-002: 10 figures of 5 subjects").wait_for()
        page.get_by_text("19,400,000 EUR").first.wait_for()  # the summary, redrawn
        assert dropdown(page, "metric").input_value() == "arr"  # TechStart's headline
        assert page.get_by_text("acme-corp-001: 10 figures").count() == 0

        dropdown(page, "metric").select_option("churn")
        page.get_by_text("shown: churn, arr, revenue, margin").wait_for()
        page.get_by_text("churn (%)", exact=True).first.wait_for()  # the series table, redrawn
        page.wait_for_function(KERNEL_READY)  # every section redrawn
        tenant.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "jupyterlab-techstart-churn.png"))
        assert page.locator(".jp-OutputArea-output[data-mime-type*='error']").count() == 0
        assert "Traceback" not in page.inner_text(".jp-Notebook")


@pytest.mark.parametrize(
    ("stem", "shown"),
    [
        ("02_explore_metrics", "acme-corp-001: 10 figures of 5 subjects"),
        ("03_conversations", "acme-corp-001"),
    ],
)
def test_a_look_and_a_run_in_jupyterlab_leave_the_notebook_as_stored(
    endpoint_url, tmp_path, stem, shown
):
    """Open, Run All, save (and JupyterLab's own autosave): the file git sees is unchanged,
    byte for byte, where JupyterLab alone would write outputs, execution counts and its
    kernel's metadata (the Python version of whoever looked)."""
    shutil.copy(NOTEBOOK_DIR / f"{stem}.ipynb", tmp_path)
    stored = (tmp_path / f"{stem}.ipynb").read_bytes()
    token = "salestalk-test"
    with jupyter_lab(tmp_path, token) as base, browser_page(1400, 1000) as page:
        page.set_default_timeout(WAIT_MS)
        page.goto(f"{base}/lab/tree/{stem}.ipynb?token={token}")
        page.locator(".jp-Notebook").wait_for()
        page.wait_for_function(KERNEL_READY)
        page.locator(".lm-MenuBar-itemLabel:text-is('Run')").click()
        page.locator(".lm-Menu-itemLabel:text-is('Run All Cells')").click()
        page.get_by_text(shown).first.wait_for()
        page.wait_for_function(KERNEL_READY)
        page.keyboard.press("Control+s")
        page.locator(".jp-mod-dirty").wait_for(state="detached")  # saved
        saved = json.loads((tmp_path / f"{stem}.ipynb").read_text())
        assert saved["cells"] and page.locator(".jp-OutputArea-output").count() > 0  # it ran
    assert (tmp_path / f"{stem}.ipynb").read_bytes() == stored
