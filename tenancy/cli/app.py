# PYTHON_ARGCOMPLETE_OK
"""The `salestalk` command line: one parser that every command group registers into.

The command line is this package and nothing else: one module per group of commands (`stack`,
`local`, `data`, `tenants`, `up`), what they share (`common`), and this parser, which maps
every error of the platform to its message and exit status once. No other module imports it:
the groups call the packages' functions with plain arguments. Everything printed goes through
`TerminalSafeStream`.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

import argcomplete
from botocore.exceptions import ClientError

from tenancy.cli import data, local, report, stack, tenants, up
from tenancy.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_PIPE_CLOSED, SalesTalkError
from tenancy.safe_text import TerminalSafeStream

# Each group adds its commands to the parser; `salestalk --help` lists them in this order.
COMMAND_GROUPS = (data, local, report, stack, tenants, up)
DISTRIBUTION = "salestalk-data-platform"  # pyproject.toml's project name


class _Parser(argparse.ArgumentParser):
    """argparse's parser, with the closest name offered for a misspelt command or choice
    (`salestalk ingset`: "did you mean 'ingest'?"), as git and gh do. Python 3.14's
    `suggest_on_error` does the same; the project runs on 3.11, so it is done here, in
    argparse's one check of a choice (a private method, fenced in this class)."""

    def _check_value(self, action: argparse.Action, value: object) -> None:
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError as exc:
            known = [str(choice) for choice in action.choices or ()]
            started = [name for name in known if name.startswith(str(value))]
            close = (
                started if len(started) == 1 else difflib.get_close_matches(str(value), known, 1)
            )
            if not close:
                raise
            raise argparse.ArgumentError(
                action, f"{exc.message}; did you mean {close[0]!r}?"
            ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="salestalk",
        description="SalesTalk data platform: tenants, tables and data.",
        epilog="Run `salestalk COMMAND --help` for a command's options and examples; "
        "`salestalk up` sets everything up on this machine.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()}", help="print the version"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register_commands(commands)
    return parser


def _version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a tree that was never installed
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Everything it prints goes through `TerminalSafeStream`: records hold
    text from outside, and none of it may reach a terminal as a control sequence."""
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalSafeStream(sys.stdout), TerminalSafeStream(sys.stderr)
    try:
        status = _run(argv)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return status
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as `aws` and `jq` do, with the
        # status a process stopped by SIGPIPE has. Nothing more may reach that pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), streams[0].fileno())
        return EXIT_PIPE_CLOSED
    finally:
        sys.stdout, sys.stderr = streams


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    if argv is None:
        # Tab completion (`eval "$(register-python-argcomplete salestalk)"`): when the shell
        # asks, argcomplete answers from the parser and exits; otherwise it returns at once.
        argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SalesTalkError as exc:  # every error of the platform: one line, its status
        print(f"salestalk: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except ClientError as exc:
        print(f"salestalk: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("salestalk: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
