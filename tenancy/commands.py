"""`salestalk provision`, `salestalk tables` and `salestalk roster`: a stack's tables applied to
its endpoint and read back, and its roster listed, validated and extended."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from botocore.exceptions import BotoCoreError, EndpointConnectionError

from tenancy.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    add_allow_aws_argument,
    add_stack_argument,
    connect,
    connection_problem,
    load_stack,
    stack_settings,
)
from tenancy.connection import Target
from tenancy.endpoint_features import describe_setting, features_of
from tenancy.provisioner import (
    Outcome,
    OwnershipError,
    Provisioner,
    ProvisionError,
    TableResult,
    observe,
)
from tenancy.roster import Plan, RosterError, TenantStatus, parse_roster
from tenancy.tables import all_table_specs

# --- salestalk provision / tables ------------------------------------------------------------


def cmd_provision(args: argparse.Namespace) -> int:
    stack_file = load_stack(args)
    settings = stack_settings(stack_file)
    target, client = connect(args, stack_file)
    print(f"provisioning stack {settings.stack!r} at {target.describe()}")
    with provisioning_errors(target):
        provisioner = Provisioner(client)
        results = [print_table_result(r) for r in provisioner.results(all_table_specs(settings))]
    print_provisioning_summary(results, provisioner.notes())
    return EXIT_OK


@contextlib.contextmanager
def provisioning_errors(target: Target) -> Iterator[None]:
    """Provisioning failures as one message and exit status: another owner's table is a usage
    error (2, nothing changed), a table that cannot be made right a failure (1)."""
    try:
        yield
    except OwnershipError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    except ProvisionError as exc:
        raise CommandError(str(exc), EXIT_FAILED) from None
    except (EndpointConnectionError, BotoCoreError) as exc:
        raise connection_problem(target, exc) from None


def print_table_result(result: TableResult) -> TableResult:
    detail = f": {'; '.join(result.changes)}" if result.changes else ""
    print(f"  {result.outcome:<9} {result.name}{detail}")
    for warning in result.warnings:
        print(f"  warning   {result.name}: {warning}")
    return result


def print_provisioning_summary(results: list[TableResult], notes: list[str]) -> None:
    for note in notes:
        print(f"  note      {note}")
    counts = {outcome: sum(r.outcome is outcome for r in results) for outcome in Outcome}
    if counts[Outcome.CREATED] or counts[Outcome.UPDATED]:
        print(
            f"{counts[Outcome.CREATED]} created, {counts[Outcome.UPDATED]} updated, "
            f"{counts[Outcome.UNCHANGED]} unchanged"
        )
    else:
        print(f"nothing to change: all {len(results)} tables match their definitions")


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
            drift = "" if live.matches(spec.shape()) else " DRIFT: differs from its definition"
            print(
                f"  {live.name}: key ({live.keys}); indexes {live.describe_indexes()}; "
                f"{live.billing_mode}; "
                f"encryption {describe_setting(live.server_side_encryption)}; "
                f"PITR {describe_setting(live.point_in_time_recovery)}{drift}"
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
    """Register provision, tables and roster."""
    for name, func, text in (
        ("provision", cmd_provision, "create or update every table of the stack's roster"),
        ("tables", cmd_tables, "list the stack's tables as they are on the endpoint"),
    ):
        sub = commands.add_parser(name, help=text)
        add_stack_argument(sub)
        add_allow_aws_argument(sub)
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
