"""`salestalk up`, the main job: a fresh clone to a stack worth looking at, in one command.

It starts the default local engine, makes the stack ready
(`ingestion.lifecycle.seeding.prepare_stack`, the same function the notebooks' workspace calls)
and executes the notebooks headless into HTML reports. It composes the other groups' steps
(`local`, `stack`, `data`) with the notebook support, and only it does.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from ingestion.lifecycle.seeding import prepare_stack
from ingestion.notebook_support.saving import JUPYTER_CONFIG
from tenancy.cli.common import (
    EXIT_FAILED,
    add_allow_aws_argument,
    add_command,
    add_stack_argument,
    connect,
    load_settings,
)
from tenancy.cli.data import (
    exit_status,
    new_quarantine,
    print_seed_result,
    seeding_errors,
)
from tenancy.cli.local import stack_local_port, start_local_endpoint
from tenancy.cli.stack import print_provisioning_summary, print_table_result, provisioning_errors
from tenancy.local.endpoint import DEFAULT_PORT
from tenancy.stack_file import find_project_dir
from tenancy.tables import table_count


def cmd_up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    project = find_project_dir()
    stack_file, settings = load_settings(args)  # a bad roster stops the job before anything runs
    port = stack_local_port(stack_file, args.stack)
    steps = 4 if args.skip_notebooks else 5
    step_number = iter(range(1, steps + 1))

    def step(text: str) -> None:
        print(f"\n[{next(step_number)}/{steps}] {text}", flush=True)

    step(f"local DynamoDB engine on port {port}")
    start_local_endpoint(port)
    target, client = connect(args, stack_file)
    quarantine = new_quarantine(None, "seed")
    try:
        with provisioning_errors(target), seeding_errors(target, client, settings):
            prepared = prepare_stack(
                client,
                settings,
                project,
                quarantine=quarantine,
                on_step=step,
                on_table=print_table_result,
                on_provisioned=print_provisioning_summary,
                progress=lambda text: print(f"seeding {text}"),
            )
    finally:
        quarantine.close()
    print_seed_result(prepared.seeded)
    rendered = None if args.skip_notebooks else _render(project, args, settings.roster.ids, step)
    step(f"done in {time.monotonic() - started:.0f} s")
    print(f"  stack {args.stack!r}: {len(settings.roster)} tenants, {table_count(settings)} tables")
    for page in rendered.pages if rendered else []:
        print(f"  report: {page} ({rendered.seconds[page]:.0f} s)")
    if rendered and rendered.failed:
        count = len(rendered.failed)
        print(f"  {count} report{'s' if count > 1 else ''} failed (said above, with the log)")
    _print_next_steps(port)
    if rendered and rendered.failed:
        return EXIT_FAILED
    return exit_status(prepared.seeded.total())


def _render(project: Path, args: argparse.Namespace, tenant_ids, step):
    from ingestion.notebook_support.html_reports import REPORT_DIR_NAME, render_reports

    out_dir = Path(args.reports) if args.reports else project / REPORT_DIR_NAME
    step(f"notebooks, executed headless into {out_dir}")

    def progress(n: int, total: int, run) -> None:
        print(f"  ({n}/{total}) {run.describe()}", flush=True)

    rendered = render_reports(project, args.stack, tenant_ids, out_dir, progress=progress)
    for failed in rendered.failed:  # said as it happens, once: the others go on
        print(f"  {failed.describe()}", file=sys.stderr, flush=True)
    return rendered


def _print_next_steps(port: int) -> None:
    venv_bin, config = Path(sys.executable).parent, JUPYTER_CONFIG
    with contextlib.suppress(ValueError):  # show .venv/bin when run from the project
        venv_bin = venv_bin.relative_to(Path.cwd())
    with contextlib.suppress(ValueError):
        config = config.relative_to(Path.cwd())
    moved = port != DEFAULT_PORT  # not where `jupyter` and `local stop` look by default
    env = f"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:{port} " if moved else ""
    print(
        "\nOpen the notebooks in Jupyter Lab against the running endpoint:\n"
        f"  {env}{venv_bin / 'jupyter'} lab --config={config} notebooks/\n"
        "  (saved as stored: no outputs, the same metadata, so a look changes nothing in git)\n"
        "Stop the endpoint when you are done:\n"
        f"  {venv_bin / 'salestalk'} local stop" + (f" --port {port}" if moved else "")
    )


def register_commands(commands: argparse._SubParsersAction) -> None:
    """Register `up`."""
    up = add_command(
        commands,
        "up",
        help="the main job: start the endpoint, provision, seed, render the notebooks as HTML",
        description="Set up everything on this machine, idempotently: the default local "
        "engine (MiniStack, installed on first use) on the stack's port, every table of the "
        "roster, the demo data, and one HTML report per tenant and notebook.",
        examples=["salestalk up", "salestalk up --skip-notebooks", "salestalk up --reports /tmp/r"],
    )
    add_stack_argument(up)
    up.add_argument("--reports", metavar="DIR", help="where the HTML goes (default: reports/)")
    up.add_argument(
        "--skip-notebooks", action="store_true", help="stop after seeding: no HTML reports"
    )
    add_allow_aws_argument(up, hidden=True)
    up.set_defaults(func=cmd_up)
