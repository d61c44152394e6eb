"""What every command group shares: exit statuses, the stack argument, loading and checking a
stack, and connecting to its endpoint with one clear message when that fails.

Exit status: 0 success; 1 the work ran but something in it failed; 2 a usage, roster, stack
file or connection problem, found before anything was changed; 130 interrupted (Ctrl-C); 141
the reader of the output went away (`| head`).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Iterable

from botocore.exceptions import BotoCoreError, ClientError

from tenancy.budgets import SLOW_ANSWER_SECONDS
from tenancy.connection import Target, dynamodb_client, loopback_port, resolve_target
from tenancy.endpoint_probe import Answer, probe
from tenancy.errors import (  # noqa: F401 (the commands' exit statuses, re-exported)
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PIPE_CLOSED,
    EXIT_USAGE,
    SalesTalkError,
)
from tenancy.settings import StackSettings
from tenancy.stack_file import (  # noqa: F401 (state_dir: the commands' state folder)
    StackFile,
    StackFileError,
    find_project_dir,
    state_dir,
)
from tenancy.table_status import table_names
from tenancy.tables import all_table_specs

DEFAULT_STACK = "local"


class CommandError(SalesTalkError):
    """A failure a command words itself (with context the raising code did not have), to
    report as one message and an exit status, without a traceback."""

    def __init__(self, message: str, status: int = EXIT_USAGE):
        super().__init__(message)
        self.exit_status = status

    @property
    def status(self) -> int:
        return self.exit_status


def confirm(question: str, *, yes: bool) -> None:
    """Go on only once the user agreed: `--yes`, or `y` typed at a terminal. Without a
    terminal to ask at (a script, a pipe) and without `--yes`, refuse (exit 2), as `gh`
    does: data is never deleted on a default. A typed no ends the command (exit 1)."""
    if yes:
        return
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise CommandError(
            f"{question.rstrip('?')}: not confirmed (no terminal to ask at): pass --yes, or "
            "--dry-run to see what it would do"
        )
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    if answer.strip().lower() not in {"y", "yes"}:
        raise CommandError("not confirmed: nothing was changed", EXIT_FAILED)


def roster_ids(prefix: str, parsed_args: argparse.Namespace, **_: object) -> list[str]:
    """Tab completion of a tenant id (argcomplete calls it): the ids of the stack's roster
    (`--stack`, or the default one) that start with what is typed. A completion must never
    fail or print, so a stack file that cannot be read offers nothing."""
    try:
        settings = StackFile.load(getattr(parsed_args, "stack", None) or DEFAULT_STACK).settings()
    except Exception:
        return []
    return [tenant_id for tenant_id in settings.roster.ids if tenant_id.startswith(prefix)]


def port_number(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (1-65535)")
    return port


def non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def add_stack_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack", "-s", default=DEFAULT_STACK, help="stack name: reads Pulumi.<stack>.yaml"
    )


def add_json_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what}")


def add_allow_aws_argument(parser: argparse.ArgumentParser, *, hidden: bool = False) -> None:
    parser.add_argument(
        "--allow-aws",
        action="store_true",
        help=argparse.SUPPRESS
        if hidden
        else "allow a stack without a local endpoint (real AWS, your own credentials)",
    )


def load_stack(args: argparse.Namespace) -> StackFile:
    return StackFile.load(args.stack)


def stack_settings(stack_file: StackFile) -> StackSettings:
    """The stack's validated settings; a bad roster or setting is a usage error (exit 2)."""
    return stack_file.settings()


def load_settings(args: argparse.Namespace) -> tuple[StackFile, StackSettings]:
    stack_file = load_stack(args)
    return stack_file, stack_settings(stack_file)


def require_tenants(settings: StackSettings, tenant_ids: Iterable[str] | None) -> None:
    """Every tenant named on the command line is in the roster (exit 2 before connecting)."""
    for tenant_id in tenant_ids or ():
        settings.roster.get(tenant_id)  # UnknownTenantError: refused, exit 2


def connect(args: argparse.Namespace, stack_file: StackFile | None = None):
    """A DynamoDB client for the stack's endpoint, refusing real AWS unless --allow-aws."""
    stack_file = stack_file or load_stack(args)
    target = resolve_target(stack_file)
    try:
        client = dynamodb_client(target, allow_aws=getattr(args, "allow_aws", False))
    except BotoCoreError as exc:  # botocore refuses the settings (a region it cannot use)
        raise CommandError(str(exc)) from None
    if target.is_local:
        # Fail in a second with a hint, rather than after botocore's connection retries.
        asked = {
            "region": target.region,
            "access_key": target.local_access_key,
            "secret_key": target.local_secret_key,
        }
        found = probe(target.endpoint_url, **asked)
        if found.answer is Answer.SILENT:
            # A busy engine (a large batch still being applied) can take more than the first
            # probe's second to answer: ask once more, patiently, before calling it silent.
            found = probe(target.endpoint_url, timeout=SLOW_ANSWER_SECONDS, **asked)
        port = loopback_port(target.endpoint_url)
        if found.answer is not Answer.NOTHING and not found.serves_dynamodb and port:
            from tenancy.local.endpoint import ANOTHER_PORT, held_by

            raise CommandError(
                f"cannot reach DynamoDB at {target.describe()}: {held_by(port, found)}. "
                f"Stop that program, or {ANOTHER_PORT}"
            )
        if not found.serves_dynamodb:
            raise connection_problem(
                target, found.describe(), getattr(args, "stack", DEFAULT_STACK)
            )
    return target, client


def connection_problem(target: Target, exc: Exception | str, stack: str = DEFAULT_STACK):
    """The one message for an endpoint that cannot be reached, with the command that serves
    one where every command looks (`local start` follows the same endpoint rule)."""
    hint = ""
    if target.is_local and loopback_port(target.endpoint_url) is not None:
        option = "" if stack == DEFAULT_STACK else f" --stack {stack}"
        hint = f" Is it running? `salestalk local start{option}` starts the default engine there."
    return CommandError(f"cannot reach DynamoDB at {target.describe()}: {exc}.{hint}")


def is_missing_table(exc: Exception) -> bool:
    return isinstance(exc, ClientError) and (
        exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
    )


def missing_tables_problem(client, settings: StackSettings, target: Target) -> CommandError:
    """A command that found a table missing: which of the stack's tables are, and how to
    make them (an engine that keeps its tables in memory loses them when it stops)."""
    try:
        existing = set(table_names(client))
        missing = [spec.name for spec in all_table_specs(settings) if spec.name not in existing]
    except (BotoCoreError, ClientError):
        missing = []
    if not missing:
        what = "a table of the stack does not exist"
    elif len(missing) == 1:
        what = f"table {missing[0]} does not exist"
    else:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        what = f"{len(missing)} tables of stack {settings.stack!r} do not exist ({shown})"
    option = "" if settings.stack == DEFAULT_STACK else f" --stack {settings.stack}"
    return CommandError(
        f"{what} at {target.describe()}: run `salestalk up{option}` or "
        f"`salestalk provision{option}` first (an engine started with --in-memory loses its "
        "tables when it stops)"
    )


def add_command(
    commands: argparse._SubParsersAction,
    name: str,
    *,
    help: str,
    examples: Iterable[str],
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand whose `--help` says what it does and shows how it is run."""
    lines = "\n".join(f"  {example}" for example in examples)
    return commands.add_parser(
        name,
        help=help,
        description=description or help[0].upper() + help[1:] + ".",
        epilog=f"example{'s' if lines.count(chr(10)) else ''}:\n{lines}",
        formatter_class=HelpFormatter,
    )


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, with the description wrapped to the terminal's width (as argparse
    wraps option help) and the indented example lines kept exactly as written, so that they
    can be copied. argparse has no formatter that does both; this one refills text itself."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if not line.strip() or line.startswith(" "):
                lines.append(indent + line if line.strip() else "")
            else:
                lines += textwrap.wrap(
                    line, width, initial_indent=indent, subsequent_indent=indent
                ) or [""]
        return "\n".join(lines)
