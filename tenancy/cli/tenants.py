"""`salestalk provision` and `salestalk tenant register|move|drop-copy|export|erase`: a tenant's
life cycle, from onboarding to erasure, each step safe to run again (the procedures are in the
README)."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from ingestion.lifecycle.erase import Erasure
from ingestion.lifecycle.export import export_folder, export_tenant
from ingestion.lifecycle.move import (
    COPY_LEFT_IN,
    MOVE_TO,
    DropPreview,
    drop_copy,
    drop_copy_preview,
    move,
    old_copy_tables,
)
from ingestion.lifecycle.onboarding import onboard, register
from ingestion.reading.ownership import Refusals
from ingestion.writing.lease import TenantFencedError
from tenancy.cli.common import (
    EXIT_OK,
    CommandError,
    add_allow_aws_argument,
    add_command,
    add_stack_argument,
    confirm,
    connect,
    connection_problem,
    is_missing_table,
    load_settings,
    missing_tables_problem,
    require_tenants,
    roster_ids,
    state_dir,
)
from tenancy.cli.stack import (
    iam_client,
    print_provisioning_summary,
    print_role_result,
    print_table_result,
    provisioning_errors,
)
from tenancy.roster import TENANT_ID_PATTERN, TENANT_ID_RULE, Tier


def _say(text: str) -> None:
    print(text, flush=True)


@contextlib.contextmanager
def operation_errors(target, client, settings) -> Iterator[None]:
    """What a tenant operation's failures need beyond their own message and exit status
    (`tenancy.errors`: refused before anything changed 2, stopped part-way 1): what to do
    about a fence, which tables are missing, which endpoint did not answer."""
    try:
        yield
    except TenantFencedError as exc:
        raise CommandError(
            f"{exc}: the tenant is being erased; finish that with `salestalk tenant erase`"
        ) from None
    except ClientError as exc:
        if is_missing_table(exc):
            raise missing_tables_problem(client, settings, target) from None
        raise
    except BotoCoreError as exc:
        raise connection_problem(target, exc) from None


def _refused(refusals: Refusals | None) -> None:
    if refusals:
        print(refusals.summary(), file=sys.stderr)


def cmd_provision(args: argparse.Namespace) -> int:
    stack_file, settings = load_settings(args)
    target, client = connect(args, stack_file)
    iam = iam_client(target)
    print(f"provisioning stack {settings.stack!r} at {target.describe()}")
    with provisioning_errors(target), operation_errors(target, client, settings):
        onboarded = onboard(
            client,
            settings,
            stack_file.path.name,
            on_table=print_table_result,
            iam=iam,
            on_role=print_role_result,
        )
    print_provisioning_summary(onboarded.tables, onboarded.notes, onboarded.roles)
    print(f"tenants-metadata: {_registered(onboarded.registered)}")
    return EXIT_OK


def cmd_register(args: argparse.Namespace) -> int:
    stack_file, settings = load_settings(args)
    require_tenants(settings, args.tenant)
    target, client = connect(args, stack_file)
    with operation_errors(target, client, settings):
        report = register(client, settings, stack_file.path.name, args.tenant)
    print(f"tenants-metadata: {_registered(report)}")
    return EXIT_OK


def _registered(report) -> str:
    changed = report.written + report.updated
    return (
        f"{report.received:,} tenants registered ({report.written:,} new, "
        f"{report.updated:,} updated, {report.received - changed:,} unchanged)"
    )


def cmd_move(args: argparse.Namespace) -> int:
    stack_file, settings = load_settings(args)
    require_tenants(settings, [args.tenant_id])
    target, client = connect(args, stack_file)
    to = Tier(args.to)
    with operation_errors(target, client, settings):
        result = move(client, stack_file, args.tenant_id, to, say=_say)
    where, stack = stack_file.path.name, settings.stack
    for copy in result.copies:
        print(f"copied {copy.describe()}")
    for check in result.checks:
        print(f"verified {check.describe()}")
    _refused(result.refusals)
    if result.step == "switched":
        current = Tier.POOL if to is Tier.SILO else Tier.SILO
        print(
            f"{where}: tenant {args.tenant_id!r} is now served from {to}; its copy in "
            f"{current} is kept ({COPY_LEFT_IN}) and fenced. Next: `pulumi up -s {stack}` "
            f"(its role follows), and once you are sure, "
            f"`salestalk tenant drop-copy {args.tenant_id}`"
        )
    elif result.step == "unfenced":
        print(f"tenant {args.tenant_id!r} stays in {to}, where its ingests go on")
    elif result.step == "finished":
        print(
            f"tenant {args.tenant_id!r} is served from {to} (the move had switched); its old "
            f"copy is fenced and tenants-metadata says {to}. Next: `salestalk tenant drop-copy "
            f"{args.tenant_id}`"
        )
    return EXIT_OK


def cmd_drop_copy(args: argparse.Namespace) -> int:
    stack_file, settings = load_settings(args)
    require_tenants(settings, [args.tenant_id])
    target, client = connect(args, stack_file)
    if args.dry_run:
        with operation_errors(target, client, settings):
            preview = drop_copy_preview(client, stack_file, args.tenant_id)
        return _print_drop_preview(args.tenant_id, preview)
    old, tables = old_copy_tables(stack_file, args.tenant_id)
    confirm(
        f"Delete the copy tenant {args.tenant_id!r} left in the {old} tier "
        f"({'its items in ' if old is Tier.POOL else ''}{', '.join(tables)})?",
        yes=args.yes,
    )
    with operation_errors(target, client, settings):
        result = drop_copy(client, stack_file, args.tenant_id, say=_say)
    for table, items in result.deleted:
        print(f"deleted {items:,} items of {args.tenant_id} from {table}")
    for table in result.tables_deleted:
        print(f"deleted table {table}")
    _refused(result.refusals)
    print(f"{stack_file.path.name}: tenant {args.tenant_id!r} has no copy left in {result.old}")
    kept = [table for table, _ in result.deleted if table not in result.tables_deleted]
    if result.old is Tier.SILO and kept and not settings.protect_data:
        print(
            f"kept {', '.join(kept)}: items that are not the tenant's valid records are still "
            "there (listed above; never copied, never deleted unseen): look at them, then "
            "delete the tables by hand"
        )
    elif result.old is Tier.SILO and kept:
        print(
            f"its emptied tables leave the stack with `pulumi up -s {settings.stack}` once "
            "`pulumi state unprotect` has released them (the stack protects its data); "
            "`salestalk provision` never deletes a table"
        )
    return EXIT_OK


def _print_drop_preview(tenant_id: str, preview: DropPreview) -> int:
    for table, records in preview.tables:
        print(f"would delete {records:,} records of {tenant_id} from {table}")
    _refused(preview.refusals)
    if preview.lagging:
        print(
            f"but {preview.lagging:,} records of the copy in {preview.old} are not in "
            f"{preview.serving} (or only in an older version): drop-copy would refuse and "
            f"delete nothing until `salestalk tenant move {tenant_id} --to {preview.serving}` "
            "has copied them"
        )
    print("dry run: nothing was deleted")
    return EXIT_OK


def _tenant_id(text: str) -> str:
    """A tenant id as the roster allows one (an erased tenant may be in no roster any more):
    never a path, never a folder name of the project's."""
    if not re.fullmatch(TENANT_ID_PATTERN, text):
        raise argparse.ArgumentTypeError(f"{text!r}: a tenant id {TENANT_ID_RULE}")
    return text


def cmd_export(args: argparse.Namespace) -> int:
    stack_file, settings = load_settings(args)
    target, client = connect(args, stack_file)
    folder = Path(args.out) if args.out else export_folder(state_dir(), args.tenant_id)
    with operation_errors(target, client, settings):
        manifest = export_tenant(client, settings, args.tenant_id, folder)
    if args.json:
        print(json.dumps({"folder": str(folder), **manifest.to_json()}))
        return EXIT_OK
    for kind, entry in manifest.files.items():
        print(f"{entry['records']:,} {kind} -> {folder / entry['file']} (sha256 {entry['sha256']})")
    if manifest.refused["count"]:
        print(
            f"skipped {manifest.refused['count']:,} items that are not the tenant's records "
            f"(listed in {folder / 'manifest.json'})",
            file=sys.stderr,
        )
    print(f"exported tenant {args.tenant_id!r} from its {manifest.tier} tier into {folder}")
    return EXIT_OK


def cmd_erase(args: argparse.Namespace) -> int:
    stack_file, settings = load_settings(args)
    target, client = connect(args, stack_file)
    with operation_errors(target, client, settings):
        erasure = Erasure(
            client,
            stack_file,
            args.tenant_id,
            state_dir(),
            say=_say,
            export=Path(args.export) if args.export else None,
            without_export=args.without_export,
            sweep=args.sweep,
        )
        record, path = erasure.run()
    for table, count in {**record.pool_items_deleted, **record.silo_items_deleted}.items():
        print(f"deleted {count:,} items of {args.tenant_id} from {table}")
    for table in record.tables_deleted:
        print(f"deleted table {table}")
    for table in record.tables_kept_empty:
        print(
            f"kept table {table}, empty (the stack protects its data): it leaves the stack with "
            f"`pulumi state unprotect` and `pulumi up -s {settings.stack}`"
        )
    if record.roster_entry_removed:
        print(f"{stack_file.path.name}: tenant {args.tenant_id!r} removed from the roster")
    files = len(record.quarantine_files_deleted)
    print(
        f"erased tenant {args.tenant_id!r}: its writer leases, its tenants-metadata row, "
        f"{files:,} quarantine files and {record.quarantine_entries_deleted:,} seeding "
        f"quarantine entries are gone; the erasure record is {path}"
    )
    if not record.swept:
        print(
            "not swept: items its role may have written under its pool keys outside the "
            "tenant index were not looked for (`--sweep` scans the pool for them)"
        )
    if record.roster_entry_removed:
        print(f"Next: `pulumi up -s {settings.stack}` removes its data-access role")
    return EXIT_OK


def register_commands(commands: argparse._SubParsersAction) -> None:
    """Register `salestalk provision` and `salestalk tenant ...`."""
    provision = add_command(
        commands,
        "provision",
        help="create or update every table of the stack's roster, and register its tenants",
        description=(
            "Apply the stack's roster to its endpoint: refuse a tenant whose tier changed "
            "without `salestalk tenant move` (before anything changes), create or repair every "
            "table, and register every tenant, with its tier, in tenants-metadata."
        ),
        examples=["salestalk provision", "salestalk provision --stack prod --allow-aws"],
    )
    add_stack_argument(provision)
    add_allow_aws_argument(provision)
    provision.set_defaults(func=cmd_provision)

    tenant = add_command(
        commands,
        "tenant",
        help="register, move between tiers, export or erase a tenant",
        examples=[
            "salestalk tenant register",
            "salestalk tenant move trial-corp-004 --to silo",
            "salestalk tenant drop-copy trial-corp-004",
            "salestalk tenant export trial-corp-004",
            "salestalk tenant erase trial-corp-004",
        ],
    )
    actions = tenant.add_subparsers(dest="tenant_command", required=True, metavar="ACTION")
    register_parser = add_command(
        actions,
        "register",
        help="register the roster's tenants in tenants-metadata (after `pulumi up`)",
        description=(
            "Register the roster's tenants, each with its tier, in tenants-metadata, once the "
            "tier check has passed: what `salestalk provision` does after its tables, for a "
            "stack whose tables `pulumi up` made."
        ),
        examples=["salestalk tenant register", "salestalk tenant register --tenant globex-003"],
    )
    register_parser.add_argument(
        "--tenant", action="append", metavar="ID", help="only this tenant (repeatable)"
    ).completer = roster_ids
    move_parser = add_command(
        actions,
        "move",
        help="copy a tenant's data to the other tier, verify it, and switch the tenant",
        description=(
            "Move a tenant between tiers. The first run marks the move in the roster "
            f"({MOVE_TO}), so that `pulumi up` or `salestalk provision` makes the target's "
            "tables and access; the next run waits for the tenant's ingests to finish (new "
            "ones wait for it), copies every record idempotently (killed and run again, it "
            "finishes with each record once), verifies record keys and content hashes, fences "
            f"the old tier and switches the tenant's tier, keeping the old copy ({COPY_LEFT_IN})"
            " until `salestalk tenant drop-copy`. Run again after a switch, it finishes it."
        ),
        examples=["salestalk tenant move trial-corp-004 --to silo"],
    )
    move_parser.add_argument(
        "tenant_id", metavar="TENANT", help="the tenant to move"
    ).completer = roster_ids
    move_parser.add_argument(
        "--to", required=True, choices=[str(t) for t in Tier], help="the tier to move it to"
    )
    drop = add_command(
        actions,
        "drop-copy",
        help="delete the copy a finished move left in the tenant's old tier",
        description=(
            "Delete the copy a finished move left in the tenant's old tier, once the serving "
            "tier holds every record of it (or a newer version); on a stack that does not "
            "protect its data, the old tables go too. At a terminal it asks first; a script "
            "passes --yes (without it, and without a terminal, it refuses); --dry-run says "
            "what it would delete and deletes nothing."
        ),
        examples=[
            "salestalk tenant drop-copy trial-corp-004 --dry-run",
            "salestalk tenant drop-copy trial-corp-004 --yes",
        ],
    )
    drop.add_argument(
        "tenant_id", metavar="TENANT", help="the tenant whose old copy to delete"
    ).completer = roster_ids
    drop_mode = drop.add_mutually_exclusive_group()
    drop_mode.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="delete without asking (a script's way; at a terminal it asks first)",
    )
    drop_mode.add_argument(
        "--dry-run",
        action="store_true",
        help="say what it would delete, checked against the serving tier, and delete nothing",
    )
    export = add_command(
        actions,
        "export",
        help="write every stored record of a tenant as JSON Lines, with a manifest",
        description=(
            "Write the tenant's messages and metrics as JSON Lines in their contracts' shape "
            "(what `salestalk ingest` takes back), with a manifest of counts and SHA-256 per "
            "file, into a new owner-only folder (default .salestalk/exports/TENANT-TIME/)."
        ),
        examples=[
            "salestalk tenant export trial-corp-004",
            "salestalk tenant export trial-corp-004 --out /secure/trial-corp-004",
        ],
    )
    export.add_argument(
        "tenant_id", metavar="TENANT", type=_tenant_id, help="the tenant to export"
    ).completer = roster_ids
    export.add_argument("--out", help="the folder to create (it must not exist)")
    export.add_argument("--json", action="store_true", help="print the manifest as JSON")
    erase = add_command(
        actions,
        "erase",
        help="delete all of a tenant's data, in both tiers, after an export",
        description=(
            "Erase a tenant that takes no new data (out of the roster, or offboarding or "
            "suspended): fence its writes, delete its items in the pool and its own tables "
            "(emptied and kept where the stack protects its data), its writer leases, its "
            "tenants-metadata row, its roster entry and its quarantine files, and write an "
            "erasure record. It first checks that the newest export holds what is stored. "
            "Killed part-way, run it again: it finishes."
        ),
        examples=[
            "salestalk tenant erase trial-corp-004",
            "salestalk tenant erase trial-corp-004 --without-export",
        ],
    )
    erase.add_argument(
        "tenant_id", metavar="TENANT", type=_tenant_id, help="the tenant to erase"
    ).completer = roster_ids
    erase.add_argument("--export", help="the export folder to check (default: the newest)")
    erase.add_argument(
        "--without-export",
        action="store_true",
        help="erase although no export holds the tenant's data",
    )
    erase.add_argument(
        "--sweep",
        action="store_true",
        help="also Scan the whole pool for items under the tenant's keys that its index does "
        "not list (items its role wrote outside the platform); reads every pooled tenant's items",
    )
    for sub, func in (
        (register_parser, cmd_register),
        (move_parser, cmd_move),
        (drop, cmd_drop_copy),
        (export, cmd_export),
        (erase, cmd_erase),
    ):
        add_stack_argument(sub)
        add_allow_aws_argument(sub)
        sub.set_defaults(func=func)
