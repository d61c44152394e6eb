"""`salestalk tables` and `salestalk roster`: a stack's tables read back from its endpoint, and
its roster listed, validated and extended; what `salestalk provision` prints of its tables."""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import textwrap
from collections.abc import Iterator
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from tenancy.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    add_allow_aws_argument,
    add_command,
    add_json_argument,
    add_stack_argument,
    connect,
    connection_problem,
    load_stack,
    roster_ids,
    stack_settings,
)
from tenancy.connection import Target, local_iam_client
from tenancy.endpoint_features import describe_setting
from tenancy.errors import SalesTalkError
from tenancy.provisioner import (
    Outcome,
    TableResult,
)
from tenancy.roster import Plan, RosterError, TenantStatus, Tier, parse_roster
from tenancy.table_status import TableStatus, table_statuses
from tenancy.tables import billing_text
from tenancy.tenant_roles import RoleOutcome, RoleResult
from tenancy.tier_guard import check_deployed_tiers

if TYPE_CHECKING:
    from tenancy.settings import StackSettings
    from tenancy.stack_file import StackFile

# --- salestalk provision / tables ------------------------------------------------------------


@contextlib.contextmanager
def provisioning_errors(target: Target) -> Iterator[None]:
    """Provisioning failures that need the endpoint named. Its own errors carry their exit
    status (`tenancy.errors`): another owner's table is refused (2, nothing changed), a table
    that cannot be made right a failure (1)."""
    try:
        yield
    except (EndpointConnectionError, BotoCoreError) as exc:
        raise connection_problem(target, exc) from None


def print_table_result(result: TableResult) -> TableResult:
    detail = f": {'; '.join(result.changes)}" if result.changes else ""
    print(f"  {result.outcome:<9} {result.name}{detail}")
    for warning in result.warnings:
        print(f"  warning   {result.name}: {warning}")
    return result


def print_role_result(result: RoleResult) -> RoleResult:
    if result.outcome is not RoleOutcome.UNCHANGED:
        detail = f": {'; '.join(result.changes)}" if result.changes else ""
        print(f"  {result.outcome:<9} role {result.name}{detail}")
    return result


def print_provisioning_summary(
    results: list[TableResult], notes: list[str], roles: list[RoleResult] = ()
) -> None:
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
    if roles:
        done = {outcome: sum(r.outcome is outcome for r in roles) for outcome in RoleOutcome}
        print(
            "roles: " + ", ".join(f"{count} {outcome}" for outcome, count in done.items() if count)
        )


def iam_client(target: Target):
    """The local endpoint's IAM, where `provision` makes the tenant roles (None on AWS)."""
    return local_iam_client(target)


def cmd_tables(args: argparse.Namespace) -> int:
    stack_file = load_stack(args)
    settings = stack_settings(stack_file)
    target, client = connect(args, stack_file)
    try:
        statuses = table_statuses(client, settings)
    except BotoCoreError as exc:
        raise connection_problem(target, exc) from None
    if args.json:
        print(json.dumps([status.to_json() for status in statuses], indent=2))
    else:
        width = shutil.get_terminal_size((100, 24)).columns
        print(textwrap.fill(f"tables of stack {settings.stack!r} at {target.describe()}", width))
        for status in statuses:
            print("\n" + "\n".join(_table_block(status, args.stack, width)))
    return EXIT_FAILED if any(not status.exists for status in statuses) else EXIT_OK


def _table_block(status: TableStatus, stack: str, width: int) -> list[str]:
    """One table as a few labelled lines (its key, one line per index, its settings), each
    wrapped to the terminal: long `;`-joined lines wrapped mid-word before."""
    live = status.live
    if live is None:
        return [f"{status.name}: missing (run `salestalk provision --stack {stack}`)"]
    items = "" if status.items is None else f" ({status.items:,} items)"
    drift = "  DRIFT: differs from its definition" if status.drift else ""
    rows = [("key", live.keys)]
    names = sorted(live.indexes)
    name_width = max(map(len, names), default=0)
    for n, name in enumerate(names):
        index = live.indexes[name]
        projection = {"ALL": "all attributes", "KEYS_ONLY": "keys only"}.get(
            index.projection, f"keys and {', '.join(index.non_key_attributes)}"
        )
        text = f"{name.ljust(name_width)}  ({index.keys}) {projection}"
        rows.append(("indexes" if n == 0 else "", text))
    settings = [
        billing_text(live.billing_mode),
        f"encryption {describe_setting(live.server_side_encryption)}",
        f"PITR {describe_setting(live.point_in_time_recovery)}",
    ]
    rows.append(("settings", ", ".join(settings)))
    lines = [f"{live.name}{items}{drift}"]
    for label, text in rows:
        lead = f"  {label:<9} "
        lines += textwrap.wrap(
            text, width, initial_indent=lead, subsequent_indent=" " * len(lead),
            break_on_hyphens=False,
        ) or [lead.rstrip()]  # fmt: skip
    return lines


# --- salestalk roster ------------------------------------------------------------------------


def cmd_roster_list(args: argparse.Namespace) -> int:
    settings = stack_settings(load_stack(args))
    if args.json:
        print(json.dumps([tenant.to_config() for tenant in settings.roster], indent=2))
        return EXIT_OK
    rows = [("TENANT", "NAME", "PLAN", "TIER", "STATUS", "REGION", "OWNER")]
    rows += [
        (t.tenant_id, t.name, str(t.plan), _tier_text(settings, t), str(t.status), t.region,
         str(t.owner_email))
        for t in settings.roster
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return EXIT_OK


def _tier_text(settings, tenant) -> str:
    """`pool`, `pool, moving to silo`, or `silo, copy left in pool`."""
    if tenant.move_to:
        return f"{settings.tier(tenant)}, moving to {tenant.move_to}"
    if tenant.copy_left_in:
        return f"{settings.tier(tenant)}, copy left in {tenant.copy_left_in}"
    return str(settings.tier(tenant))


def cmd_roster_validate(args: argparse.Namespace) -> int:
    stack_file = load_stack(args)
    settings = stack_settings(stack_file)
    compared = _tiers_compared(args, stack_file, settings)
    print(
        f"{stack_file.path.name}: {len(settings.roster)} tenants, valid "
        f"(table prefix {settings.table_prefix!r}, protectData {settings.protect_data})"
    )
    print(compared)
    return EXIT_OK


def _tiers_compared(
    args: argparse.Namespace, stack_file: StackFile, settings: StackSettings
) -> str:
    """Each tenant's tier compared with the live stack's (`tenants-metadata`), when the stack's
    endpoint answers: a tier changed without a move is a roster problem (exit 2). Without an
    endpoint the file alone is validated; the line returned says so and why."""
    try:
        target, client = connect(args, stack_file)
        deployed = check_deployed_tiers(client, settings, source=stack_file.path.name)
    except RosterError:  # a tier changed without a move: the roster is wrong
        raise
    except (SalesTalkError, BotoCoreError, ClientError) as exc:  # no live stack to compare
        return f"tiers not compared with the live stack: {exc}"
    return (
        f"tiers match the live stack at {target.describe()}: "
        f"{len(deployed)} of {len(settings.roster)} tenants deployed there"
    )


def cmd_roster_add(args: argparse.Namespace) -> int:

    stack_file = load_stack(args)
    settings = stack_settings(stack_file)  # the roster must be valid before it is extended
    entry = {
        "tenantId": args.tenant_id,
        "name": args.name,
        "industry": args.industry,
        "region": args.region,
        "plan": args.plan,
        "ownerEmail": args.owner_email,
        "status": args.status,
    }
    if args.tier:
        entry["tier"] = args.tier
    # Validated as a roster entry: errors read as they do for the whole roster.
    (tenant,) = parse_roster([entry], source="the new entry")
    # The tier is written, not left to the plan: a later change of the tenant's plan or of
    # salestalk:planTiers must never move its data silently (`tenant move` does that).
    tenant = tenant.model_copy(update={"tier": settings.tier(tenant)})
    settings = stack_file.add_tenant(tenant)
    print(
        f"added tenant {tenant.tenant_id!r} to {stack_file.path.name} (tier {tenant.tier}, "
        f"{len(settings.roster)} tenants). Next: `salestalk provision --stack {args.stack}` "
        f"or `pulumi up -s {args.stack}`."
    )
    return EXIT_OK


def cmd_roster_set_status(args: argparse.Namespace) -> int:

    stack_file = load_stack(args)
    settings = stack_settings(stack_file)
    try:
        before = settings.roster.get(args.tenant_id).status
        stack_file.update_tenant(
            args.tenant_id, {"status": args.status}, expect={"status": str(before)}
        )
    except LookupError as exc:  # the tenant left the roster between the read and the edit
        raise CommandError(str(exc)) from None
    writes = "takes no new data" if not TenantStatus(args.status).accepts_writes else "takes data"
    print(
        f"{stack_file.path.name}: tenant {args.tenant_id!r} is {args.status} (was {before}): it "
        f"{writes}. Next: `pulumi up -s {args.stack}` (its role follows) or "
        f"`salestalk provision --stack {args.stack}`"
    )
    return EXIT_OK


def register_commands(commands: argparse._SubParsersAction) -> None:
    """Register tables and roster (`provision`, which also registers the roster's tenants,
    is in `tenancy.cli.tenants`)."""
    tables = add_command(
        commands,
        "tables",
        help="list the stack's tables as they are on the endpoint",
        examples=["salestalk tables", "salestalk tables --json | jq '.[] | select(.drift)'"],
    )
    add_stack_argument(tables)
    add_allow_aws_argument(tables)
    add_json_argument(tables, "the tables as a JSON array, one object per table")
    tables.set_defaults(func=cmd_tables)

    roster = add_command(
        commands,
        "roster",
        help="list, validate or extend a stack's tenant roster",
        examples=["salestalk roster list", "salestalk roster validate --stack prod"],
    )
    roster_commands = roster.add_subparsers(dest="roster_command", required=True, metavar="ACTION")
    for name, func, text, examples in (
        (
            "list",
            cmd_roster_list,
            "list the stack's tenants",
            ["salestalk roster list", "salestalk roster list --json | jq -r '.[].tenantId'"],
        ),
        (
            "validate",
            cmd_roster_validate,
            "validate the stack's roster and settings, and each tenant's tier against the "
            "live stack's when its endpoint answers",
            [
                "salestalk roster validate --stack local",
                "salestalk roster validate -s prod --allow-aws",
            ],
        ),
    ):
        sub = add_command(roster_commands, name, help=text, examples=examples)
        add_stack_argument(sub)
        if name == "validate":  # compares tiers with the live stack, which may be real AWS
            add_allow_aws_argument(sub)
        if name == "list":
            add_json_argument(sub, "the roster as a JSON array, entries as the stack file has them")
        sub.set_defaults(func=func)
    add = add_command(
        roster_commands,
        "add",
        help="validate and append a tenant to the roster",
        description="Validate a new tenant as a roster entry and append it to the stack file, "
        "keeping its comments. Then `salestalk provision` or `pulumi up` makes its tables.",
        examples=[
            "salestalk roster add --tenant-id globex-003 --name 'Globex Corp' "
            "--industry manufacturing --region Europe --plan professional "
            "--owner-email ops@globex.example",
            "salestalk roster add --tenant-id initech-004 --name Initech --industry software "
            "--region 'North America' --plan trial --owner-email data@initech.example",
        ],
    )
    add_stack_argument(add)
    add.add_argument("--tenant-id", required=True, help="lowercase letters, digits and '-'")
    add.add_argument("--name", required=True, help="the tenant's display name")
    add.add_argument("--industry", required=True, help="the tenant's industry")
    add.add_argument(
        "--region",
        required=True,
        help="the sales region the customer is in, as the roster names it (e.g. Europe, "
        "'North America'); not an AWS region: the stack's `aws:region` decides where data lives",
    )
    add.add_argument(
        "--plan", required=True, choices=[str(p) for p in Plan], help="the tenant's plan"
    )
    add.add_argument("--owner-email", required=True, help="who owns the tenant's account")
    add.add_argument(
        "--status",
        default=str(TenantStatus.ACTIVE),
        choices=[str(s) for s in TenantStatus],
        metavar="STATUS",
        help=f"lifecycle status: {', '.join(TenantStatus)} (default: %(default)s)",
    )
    add.add_argument(
        "--tier",
        choices=[str(t) for t in Tier],
        help="silo (tables of its own) or pool (the shared pool tables); default: the plan's "
        "tier under salestalk:planTiers (trial pooled, other plans siloed, unless the stack "
        "says otherwise), written into the entry as `tier:` so that a later change of plan or "
        "planTiers never moves the tenant silently",
    )
    add.set_defaults(func=cmd_roster_add)
    status = add_command(
        roster_commands,
        "set-status",
        help="set a tenant's lifecycle status (offboarding stops its writes)",
        description="Set one tenant's status in the stack file, keeping its comments: "
        "`suspended` and `offboarding` tenants keep read access and take no new data.",
        examples=["salestalk roster set-status initech-004 offboarding"],
    )
    add_stack_argument(status)
    status.add_argument("tenant_id", metavar="TENANT", help="the tenant").completer = roster_ids
    status.add_argument(
        "status",
        choices=[str(s) for s in TenantStatus],
        metavar="STATUS",
        help=f"its new status: {', '.join(TenantStatus)}",
    )
    status.set_defaults(func=cmd_roster_set_status)
