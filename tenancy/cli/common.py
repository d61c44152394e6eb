"""What every command group shares: exit statuses, the stack argument, loading and checking a
stack, and connecting to its endpoint with one clear message when that fails.

Exit status: 0 success; 1 the work ran but something in it failed; 2 a usage, roster, stack
file or connection problem, found before anything was changed.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from tenancy.connection import (
    RealAwsRefusedError,
    Target,
    answers,
    dynamodb_client,
    resolve_target,
)
from tenancy.roster import RosterError, UnknownTenantError
from tenancy.settings import StackConfigError, StackSettings
from tenancy.stack_file import StackFile, StackFileError, find_project_dir

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_STACK = "local"
STATE_DIR_NAME = ".salestalk"  # the project's local state: endpoints, engines, quarantine


class CommandError(Exception):
    """A failure to report as one message and an exit status, without a traceback."""

    def __init__(self, message: str, status: int = EXIT_USAGE):
        super().__init__(message)
        self.status = status


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


def add_allow_aws_argument(parser: argparse.ArgumentParser, *, hidden: bool = False) -> None:
    parser.add_argument(
        "--allow-aws",
        action="store_true",
        help=argparse.SUPPRESS
        if hidden
        else "allow a stack without a local endpoint (real AWS, your own credentials)",
    )


def load_stack(args: argparse.Namespace) -> StackFile:
    try:
        return StackFile.load(args.stack)
    except StackFileError as exc:
        raise CommandError(str(exc)) from None


def stack_settings(stack_file: StackFile) -> StackSettings:
    """The stack's validated settings; a bad roster or setting is a usage error (exit 2)."""
    try:
        return stack_file.settings()
    except (RosterError, StackConfigError) as exc:
        raise CommandError(str(exc)) from None


def load_settings(args: argparse.Namespace) -> tuple[StackFile, StackSettings]:
    stack_file = load_stack(args)
    return stack_file, stack_settings(stack_file)


def require_tenants(settings: StackSettings, tenant_ids: Iterable[str] | None) -> None:
    """Every tenant named on the command line is in the roster (exit 2 before connecting)."""
    for tenant_id in tenant_ids or ():
        try:
            settings.roster.get(tenant_id)
        except UnknownTenantError as exc:
            raise CommandError(str(exc)) from None


def connect(args: argparse.Namespace, stack_file: StackFile | None = None):
    """A DynamoDB client for the stack's endpoint, refusing real AWS unless --allow-aws."""
    stack_file = stack_file or load_stack(args)
    try:
        target = resolve_target(stack_file)
        client = dynamodb_client(target, allow_aws=getattr(args, "allow_aws", False))
    except (ValueError, RealAwsRefusedError) as exc:
        raise CommandError(str(exc)) from None
    if target.is_local and not answers(target.endpoint_url):
        # Fail in a second with a hint, rather than after botocore's connection retries.
        raise connection_problem(target, "nothing answers there")
    return target, client


def connection_problem(target: Target, exc: Exception | str) -> CommandError:
    hint = ""
    if target.is_local:
        hint = " Is it running? `salestalk local start` starts the embedded one."
    return CommandError(f"cannot reach DynamoDB at {target.describe()}: {exc}.{hint}")


def state_dir() -> Path:
    """The project's `.salestalk/` folder (the working directory's outside a project)."""
    try:
        return find_project_dir() / STATE_DIR_NAME
    except StackFileError:
        return Path.cwd() / STATE_DIR_NAME
