"""The `salestalk` command line: one parser that every command group registers into.

The groups are found through the `salestalk.commands` entry points (pyproject.toml), so this
home names none of them: each lives beside the code it serves (`tenancy.commands`,
`tenancy.local.commands`, `ingestion.commands`, `ingestion.main_job`). Everything printed goes
through `TerminalSafeStream`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from botocore.exceptions import ClientError

from tenancy.cli.common import EXIT_FAILED, CommandError
from tenancy.safe_text import TerminalSafeStream

COMMAND_GROUPS = "salestalk.commands"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salestalk", description="SalesTalk data platform: tenants, tables and data."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups = sorted(entry_points(group=COMMAND_GROUPS), key=lambda entry: entry.name)
    if not groups:
        raise SystemExit(
            "salestalk: error: no command group is installed (the package's metadata is "
            "missing): run `pip install -e .` in the project"
        )
    for group in groups:
        group.load()(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Everything it prints goes through `TerminalSafeStream`: records hold
    text from outside, and none of it may reach a terminal as a control sequence."""
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalSafeStream(sys.stdout), TerminalSafeStream(sys.stderr)
    try:
        return _run(argv)
    finally:
        sys.stdout, sys.stderr = streams


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CommandError as exc:
        print(f"salestalk: error: {exc}", file=sys.stderr)
        return exc.status
    except ClientError as exc:
        print(f"salestalk: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("salestalk: interrupted", file=sys.stderr)
        return 130
