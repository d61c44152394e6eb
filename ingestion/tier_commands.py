"""`salestalk tenant move` and `salestalk tenant drop-copy`: a tenant's move between tiers,
step by step, each step safe to run again (the procedure is in the README)."""

from __future__ import annotations

import argparse

from ingestion.seeding import register_tenants
from ingestion.tier_move import MoveError, copy_tenant, drop_copy, verify_copy
from tenancy.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    add_allow_aws_argument,
    add_command,
    add_stack_argument,
    connect,
    load_settings,
    require_tenants,
)
from tenancy.provisioner import describe
from tenancy.roster import RosterError, Tier
from tenancy.tables import tier_tables

MOVE_TO, TIER, COPY_LEFT_IN = "moveTo", "tier", "copyLeftIn"  # the roster fields a move sets


def cmd_move(args: argparse.Namespace) -> int:
    stack_file, settings = load_settings(args)
    require_tenants(settings, [args.tenant_id])
    tenant = settings.roster.get(args.tenant_id)
    to, current = Tier(args.to), settings.tier(tenant)
    where = stack_file.path.name
    if to == current:
        raise CommandError(f"tenant {tenant.tenant_id!r} is already in the {to} tier")
    if tenant.copy_left_in is not None:
        raise CommandError(
            f"tenant {tenant.tenant_id!r} still has the copy of its last move in "
            f"{tenant.copy_left_in}: `salestalk tenant drop-copy {tenant.tenant_id}` first"
        )
    if tenant.move_to != to:
        settings = _update(stack_file, tenant.tenant_id, {MOVE_TO: str(to)})
        print(f"{where}: tenant {tenant.tenant_id!r} is moving from {current} to {to} ({MOVE_TO})")
    _, client = connect(args, stack_file)
    tenant = settings.roster.get(tenant.tenant_id)
    missing = [
        table.name
        for table in tier_tables(settings, tenant, to).values()
        if describe(client, table.name) is None
    ]
    if missing:
        print(
            f"the {to} tier's tables are not there yet ({', '.join(missing)}): run "
            f"`pulumi up -s {args.stack}` or `salestalk provision --stack {args.stack}`, "
            "then this command again"
        )
        return EXIT_OK
    try:
        for copy in copy_tenant(client, settings, tenant.tenant_id, to):
            print(
                f"copied {copy.kind}: {copy.read:,} read from {copy.source_table}, "
                f"{copy.copied:,} written to {copy.target_table}, "
                f"{copy.already_there:,} already there"
            )
        checks = verify_copy(client, settings, tenant.tenant_id, to)
    except MoveError as exc:
        raise CommandError(str(exc), EXIT_FAILED) from None
    for check in checks:
        print(f"verified {check.describe()}")
    if not all(check.equal for check in checks):
        print(
            f"the copies differ: the tenant stays in {current}. Was it written to during the "
            "copy? Run this command again once its ingests are done"
        )
        return EXIT_FAILED
    settings = _update(
        stack_file, tenant.tenant_id, {TIER: str(to), MOVE_TO: None, COPY_LEFT_IN: str(current)}
    )
    register_tenants(client, settings, [tenant.tenant_id])  # tenants-metadata has its tier
    print(
        f"{where}: tenant {tenant.tenant_id!r} is now served from {to}; its copy in "
        f"{current} is kept ({COPY_LEFT_IN}). Next: `pulumi up -s {args.stack}` (its role "
        f"follows), and once you are sure, `salestalk tenant drop-copy {tenant.tenant_id}`"
    )
    return EXIT_OK


def cmd_drop_copy(args: argparse.Namespace) -> int:
    stack_file, settings = load_settings(args)
    require_tenants(settings, [args.tenant_id])
    tenant = settings.roster.get(args.tenant_id)
    _, client = connect(args, stack_file)
    try:
        dropped = drop_copy(client, settings, tenant.tenant_id)
    except MoveError as exc:
        raise CommandError(str(exc)) from None
    for table, items in dropped:
        print(f"deleted {items:,} items of {tenant.tenant_id} from {table}")
    old = tenant.copy_left_in
    _update(stack_file, tenant.tenant_id, {COPY_LEFT_IN: None})
    print(f"{stack_file.path.name}: tenant {tenant.tenant_id!r} has no copy left in {old}")
    if old is Tier.SILO and not settings.protect_data:
        # an unprotected stack's data is disposable: its emptied tables go now
        for table, _ in dropped:
            client.delete_table(TableName=table)
            client.get_waiter("table_not_exists").wait(TableName=table)
            print(f"deleted table {table}")
    elif old is Tier.SILO:
        print(
            f"its emptied tables leave the stack with `pulumi up -s {args.stack}` once "
            "`pulumi state unprotect` has released them (the stack protects its data); "
            "`salestalk provision` never deletes a table"
        )
    return EXIT_OK


def _update(stack_file, tenant_id: str, changes):
    try:
        return stack_file.update_tenant(tenant_id, changes)
    except RosterError as exc:
        raise CommandError(str(exc)) from None


def register_commands(commands: argparse._SubParsersAction) -> None:
    """Register `tenant move` and `tenant drop-copy`."""
    tenant = add_command(
        commands,
        "tenant",
        help="move a tenant between the silo and pool tiers",
        examples=[
            "salestalk tenant move trial-corp-004 --to silo",
            "salestalk tenant drop-copy trial-corp-004",
        ],
    )
    actions = tenant.add_subparsers(dest="tenant_command", required=True, metavar="ACTION")
    move = add_command(
        actions,
        "move",
        help="copy a tenant's data to the other tier, verify it, and switch the tenant",
        description=(
            "Move a tenant between tiers. The first run marks the move in the roster "
            f"({MOVE_TO}), so that `pulumi up` or `salestalk provision` makes the target's "
            "tables and access; the next run copies every item (idempotently: killed and run "
            "again, it finishes with each item once), verifies counts and content hashes, and "
            f"switches the tenant's tier, keeping the old copy ({COPY_LEFT_IN}) until "
            "`salestalk tenant drop-copy`. Pause the tenant's ingests while it moves."
        ),
        examples=["salestalk tenant move trial-corp-004 --to silo"],
    )
    move.add_argument("tenant_id", metavar="TENANT", help="the tenant to move")
    move.add_argument(
        "--to", required=True, choices=[str(t) for t in Tier], help="the tier to move it to"
    )
    drop = add_command(
        actions,
        "drop-copy",
        help="delete the copy a finished move left in the tenant's old tier",
        examples=["salestalk tenant drop-copy trial-corp-004"],
    )
    drop.add_argument("tenant_id", metavar="TENANT", help="the tenant whose old copy to delete")
    for sub, func in ((move, cmd_move), (drop, cmd_drop_copy)):
        add_stack_argument(sub)
        add_allow_aws_argument(sub)
        sub.set_defaults(func=func)
