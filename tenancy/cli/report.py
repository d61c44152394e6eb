"""`salestalk report`: one tenant's reports, the same code-free HTML pages `salestalk up` writes.

It reads the stack's running endpoint (it starts nothing and seeds nothing: a report is about
the data that is there) and executes the per-tenant notebooks headless for that tenant.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ingestion.notebook_support.html_reports import (
    REPORT_DIR_NAME,
    TENANT_NOTEBOOKS,
    render_reports,
)
from tenancy.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_allow_aws_argument,
    add_command,
    add_stack_argument,
    connect,
    load_settings,
    require_tenants,
    roster_ids,
)
from tenancy.stack_file import find_project_dir


def cmd_report(args: argparse.Namespace) -> int:
    _, settings = load_settings(args)
    require_tenants(settings, [args.tenant])
    connect(args)  # the endpoint answers, or one line says why (before a kernel starts)
    project = find_project_dir()
    out_dir = Path(args.output) if args.output else project / REPORT_DIR_NAME
    notebooks = [args.notebook] if args.notebook else list(TENANT_NOTEBOOKS)

    def progress(n: int, total: int, run) -> None:
        print(f"({n}/{total}) {run.describe()}", file=sys.stderr, flush=True)

    rendered = render_reports(
        project, args.stack, [args.tenant], out_dir, progress=progress, notebooks=notebooks
    )
    for page in rendered.pages:
        print(page)  # stdout: the pages, one a line, for a script to open
    for failed in rendered.failed:
        print(f"salestalk: error: {failed.describe()}", file=sys.stderr)
    return EXIT_FAILED if rendered.failed else EXIT_OK


def register_commands(commands: argparse._SubParsersAction) -> None:
    """Register `report`."""
    report = add_command(
        commands,
        "report",
        help="write one tenant's reports as HTML (the pages `salestalk up` makes)",
        description="Execute the per-tenant notebooks for one tenant against the stack's "
        "running endpoint and write each as a code-free HTML page (and the executed "
        "notebook beside it). The pages' paths are printed, one a line.",
        examples=[
            "salestalk report --tenant acme-corp-001",
            "salestalk report --tenant globex-003 --notebook 02_explore_metrics --output /tmp/r",
        ],
    )
    report.add_argument(
        "--tenant", required=True, metavar="ID", help="whose reports"
    ).completer = roster_ids
    report.add_argument(
        "--notebook",
        choices=TENANT_NOTEBOOKS,
        metavar="NAME",
        help=f"only this notebook: {', '.join(TENANT_NOTEBOOKS)} (default: both)",
    )
    report.add_argument("--output", metavar="DIR", help="where the pages go (default: reports/)")
    add_stack_argument(report)
    add_allow_aws_argument(report)
    report.set_defaults(func=cmd_report)
