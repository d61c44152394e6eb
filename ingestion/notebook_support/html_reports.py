"""Executes the notebooks headless (papermill) and writes them as HTML reports.

The explore and conversations notebooks are run once per tenant of the roster, through their
papermill `parameters` cell; the seed-and-inspect notebook once for the stack.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

NOTEBOOK_DIR_NAME = "notebooks"
REPORT_DIR_NAME = "reports"
# (notebook, whether it runs once per tenant)
NOTEBOOKS: tuple[tuple[str, bool], ...] = (
    ("01_seed_and_inspect", False),
    ("02_explore_metrics", True),
    ("03_conversations", True),
)
# The notebooks that report on one tenant (what `salestalk report --tenant` renders).
TENANT_NOTEBOOKS = tuple(stem for stem, per_tenant in NOTEBOOKS if per_tenant)


@dataclass(frozen=True)
class NotebookRun:
    notebook: Path
    parameters: dict[str, str]
    name: str  # report file stem

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.parameters.items())
        return f"{self.notebook.name} ({shown})"


def planned_runs(
    project_dir: Path,
    stack: str,
    tenant_ids: Iterable[str],
    notebooks: Iterable[str] | None = None,
) -> list[NotebookRun]:
    """Every run of the notebooks (or only those named in `notebooks`, by stem)."""
    folder = project_dir / NOTEBOOK_DIR_NAME
    chosen = None if notebooks is None else set(notebooks)
    runs = []
    for stem, per_tenant in NOTEBOOKS:
        if chosen is not None and stem not in chosen:
            continue
        path = folder / f"{stem}.ipynb"
        if per_tenant:
            runs += [
                NotebookRun(path, {"stack": stack, "tenant_id": t}, f"{stem}-{t}")
                for t in tenant_ids
            ]
        else:
            runs.append(NotebookRun(path, {"stack": stack}, stem))
    return runs


@contextlib.contextmanager
def _kernel_output_to(log: Path) -> Iterator[None]:
    """Send what kernel processes print on stderr (start-up and shutdown chatter) to a log
    file: they inherit our file descriptor 2. Cell errors still raise, with their traceback."""
    sys.stderr.flush()
    saved = os.dup(2)
    with log.open("ab") as target:
        os.dup2(target.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


# Cells that set a run's parameters: the notebook's defaults and papermill's injected values.
# A report shows neither (its header names the tenant); the executed notebook keeps both.
PARAMETER_TAGS = {"parameters", "injected-parameters"}


def as_report(notebook, run: NotebookRun, now: datetime | None = None):
    """An executed notebook as a report for reading: (notebook, page title). Its code is
    hidden by the exporter; here the parameter cells go, and a line under the title says
    which stack and tenant it is about and when it was made."""
    import nbformat

    cells = [
        cell
        for cell in notebook.cells
        if not PARAMETER_TAGS & set(cell.get("metadata", {}).get("tags", []))
    ]
    heading = next(
        (
            line.lstrip("#").strip()
            for cell in cells
            if cell.cell_type == "markdown"
            for line in cell.source.splitlines()
            if line.startswith("# ")
        ),
        run.notebook.stem,
    )
    tenant = run.parameters.get("tenant_id")
    title = f"{heading}: {tenant}" if tenant else heading
    made = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    about = f"tenant **{tenant}**, " if tenant else ""
    header = nbformat.v4.new_markdown_cell(
        f"*{about}stack **{run.parameters['stack']}**; report generated {made}*"
    )
    first_markdown = next((i for i, c in enumerate(cells) if c.cell_type == "markdown"), -1)
    cells.insert(first_markdown + 1, header)
    notebook.cells = cells
    notebook.metadata["title"] = title
    return notebook, title


# A report is static: a notebook's pickers (`pickers.interactive_default`) stay off, even when
# `salestalk up` itself runs inside a Jupyter kernel, whose environment says "Jupyter".
HEADLESS = {"interactive": False}


def execute(run: NotebookRun, out_dir: Path, timeout: int = 300) -> tuple[Path, Path]:
    """Execute one notebook (failing on any cell error) and write .ipynb and .html."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / f"{run.name}.ipynb"
    with _kernel_output_to(out_dir / "kernels.log"):
        declared = papermill.inspect_notebook(str(run.notebook))
        headless = {k: v for k, v in HEADLESS.items() if k in declared}
        papermill.execute_notebook(
            str(run.notebook),
            str(executed),
            parameters={**run.parameters, **headless},
            cwd=str(run.notebook.parent),
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=timeout,
        )
    report, title = as_report(nbformat.read(executed, as_version=4), run)
    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    html, _ = exporter.from_notebook_node(report, resources={"metadata": {"name": title}})
    page = out_dir / f"{run.name}.html"
    page.write_text(html, encoding="utf-8")
    return executed, page


@dataclass(frozen=True)
class FailedRun:
    """A notebook that did not make its report: which, for which tenant, why, and where the
    whole story is (the executed notebook with its traceback, and a log of the error)."""

    run: NotebookRun
    reason: str
    log: Path

    def describe(self) -> str:
        tenant = self.run.parameters.get("tenant_id")
        who = f" for tenant {tenant}" if tenant else ""
        return f"{self.run.notebook.stem}{who} failed: {self.reason} (log: {self.log})"


@dataclass
class Rendered:
    pages: list[Path]
    failed: list[FailedRun]
    seconds: dict[Path, float] = field(default_factory=dict)  # each page's notebook, run


def render_reports(
    project_dir: Path,
    stack: str,
    tenant_ids: Iterable[str],
    out_dir: Path,
    progress: Callable[[int, int, NotebookRun], None] | None = None,
    timeout: int = 300,
    notebooks: Iterable[str] | None = None,
) -> Rendered:
    """Every report of the stack (or of the `notebooks` named); one notebook that fails (an
    error in a cell, a cell that runs out of time, a dead kernel) is noted with its log and
    the others are still made."""
    runs = planned_runs(project_dir, stack, list(tenant_ids), notebooks)
    rendered = Rendered([], [])
    for number, run in enumerate(runs, start=1):
        if progress:
            progress(number, len(runs), run)
        started = time.perf_counter()
        try:
            page = execute(run, out_dir, timeout)[1]
            rendered.pages.append(page)
            rendered.seconds[page] = time.perf_counter() - started
        except Exception as exc:
            rendered.failed.append(_failed(run, exc, out_dir))
    return rendered


def _failed(run: NotebookRun, exc: Exception, out_dir: Path) -> FailedRun:
    import traceback

    reason = _reason(exc)
    log = out_dir / f"{run.name}.log"
    with contextlib.suppress(OSError):
        out_dir.mkdir(parents=True, exist_ok=True)
        text = "".join(traceback.format_exception(exc))
        log.write_text(f"{run.describe()}\n{reason}\n\n{text}", encoding="utf-8")
    return FailedRun(run, reason, log)


def _reason(exc: Exception) -> str:
    """One line: the cell's error for a cell that failed, else the exception's own words."""
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        cell = getattr(exc, "exec_count", None)
        return f"{ename}: {evalue}" + (f" in cell {cell}" if cell else "")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
