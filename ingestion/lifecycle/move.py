"""Moving a tenant between tiers, step by step, each step safe to run again and safe to kill.

1. **Mark** (`tenant move`, first run): the roster entry gets `moveTo`, so that `pulumi up` or
   `salestalk provision` makes the target tier's tables and access beside the current ones.
2. **Copy, verify, switch** (`tenant move`, once the target exists): under every writer lease
   of the tenant in both tiers (ingests finish first; new ones wait), the target is made the
   mirror of the source and compared with it record by record; only if equal is the source
   fenced (an ingest that started before meets the fence and stops, instead of writing where
   nobody will read), then the roster switches (`tier`, `copyLeftIn`, compare-and-set on
   `moveTo`) and `tenants-metadata` follows.
3. **Finish** (`tenant move` again after a switch, e.g. killed before the metadata update):
   re-fences the old tier, copies what the old copy holds that the serving tier lacks, and
   registers the tenant's tier.
4. **Drop the old copy** (`tenant drop-copy`): under the same leases, checks that the serving
   tier holds every record of the old copy (or a newer version), and only then deletes the
   old copy (its emptied silo tables too, where the stack does not protect its data), then
   takes `copyLeftIn` out of the roster. Killed anywhere, run again, it finishes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ingestion.lifecycle.copies import Copier, Difference, KindCopy
from ingestion.lifecycle.errors import OperationFailed, OperationRefused
from ingestion.lifecycle.failpoints import failpoint
from ingestion.lifecycle.fencing import TenantLock, lift_fences
from ingestion.lifecycle.onboarding import register_tenants
from ingestion.reading.ownership import Refusals
from ingestion.records.items import TENANT_DATA_KINDS
from ingestion.writing.lease import Fence
from tenancy.provisioner import describe
from tenancy.roster import RosterError, Tenant, Tier
from tenancy.stack_file import StackFile, StackFileError
from tenancy.tables import tier_tables

MOVE_TO, TIER, COPY_LEFT_IN = "moveTo", "tier", "copyLeftIn"  # the roster fields a move sets

Say = Callable[[str], None]


def moved_to(tier: Tier) -> Fence:
    return Fence.MOVED_TO_POOL if tier is Tier.POOL else Fence.MOVED_TO_SILO


@dataclass
class MoveResult:
    """What one `tenant move` run did."""

    step: str  # "marked" (target not there yet), "switched" or "finished"
    copies: list[KindCopy] = field(default_factory=list)
    checks: list[Difference] = field(default_factory=list)
    refusals: Refusals | None = None


def move(client, stack_file: StackFile, tenant_id: str, to: Tier, *, say: Say) -> MoveResult:
    """One run of `salestalk tenant move`: whichever step the tenant is at, the next one."""
    settings = stack_file.settings()
    tenant = settings.roster.get(tenant_id)
    current = settings.tier(tenant)
    if current is to:
        if tenant.copy_left_in is not None:
            return finish(client, stack_file, tenant, say=say)
        if tenant.move_to is None and lift_fences(client, settings, tenant_id, to, say=say):
            return MoveResult("unfenced")  # a move abandoned by hand after it fenced
        raise OperationRefused(f"tenant {tenant_id!r} is already in the {to} tier")
    if tenant.copy_left_in is not None:
        raise OperationRefused(
            f"tenant {tenant_id!r} still has the copy of its last move in "
            f"{tenant.copy_left_in}: `salestalk tenant drop-copy {tenant_id}` first"
        )
    if tenant.move_to is not to:
        settings = stack_file.update_tenant(
            tenant_id, {MOVE_TO: str(to)}, expect={MOVE_TO: _text(tenant.move_to)}
        )
        say(
            f"{stack_file.path.name}: tenant {tenant_id!r} is moving from {current} to {to} "
            f"({MOVE_TO})"
        )
    missing = [
        table.name
        for table in tier_tables(settings, tenant_id, to).values()
        if describe(client, table.name) is None
    ]
    if missing:
        say(
            f"the {to} tier's tables are not there yet ({', '.join(missing)}): run "
            f"`pulumi up -s {settings.stack}` or `salestalk provision --stack {settings.stack}`, "
            "then this command again"
        )
        return MoveResult("marked")
    failpoint("move:copy")
    result = MoveResult("switched", refusals=Refusals(tenant_id))
    lock = TenantLock(client, settings, tenant_id, [current, to], operation="move", on_wait=say)
    with lock:
        copier = Copier(
            client,
            settings,
            tenant_id,
            refusals=result.refusals,
            heartbeat=lock.ensure,
            operation_id=lock.owner,
        )
        result.copies = copier.copy(current, to)
        result.checks = _mirror(copier, current, to)
        if not all(check.equal for check in result.checks):
            raise OperationFailed(
                "; ".join(check.describe() for check in result.checks if not check.equal)
                + f". The tenant stays in {current}; run this command again"
            )
        failpoint("move:verified")
        lock.fence(current, moved_to(to))
    failpoint("move:fenced")
    try:
        settings = stack_file.update_tenant(
            tenant_id,
            {TIER: str(to), MOVE_TO: None, COPY_LEFT_IN: str(current)},
            expect={MOVE_TO: str(to)},
        )
    except (StackFileError, RosterError, LookupError) as exc:
        # the roster changed under the move (an entry edited by hand): it still serves the
        # tenant from `current`, so its writes there must go on
        lift_fences(client, settings, tenant_id, current, owner=lock.owner)
        raise OperationFailed(
            f"the switch was refused ({exc}); the copy is verified but the tenant stays in "
            f"{current}, where its writes go on; run this command again to switch it"
        ) from None
    failpoint("move:switched")
    register_tenants(client, settings, [tenant_id])  # tenants-metadata has its tier
    return result


def _mirror(copier: Copier, source: Tier, target: Tier) -> list[Difference]:
    """Compare, and take out of the target what the source does not hold (the target is not
    served yet: the source decides), then compare again."""
    checks = copier.compare(source, target)
    if any(check.extra for check in checks):
        for check in checks:
            copier.remove(target, check.kind, check.extra)
        checks = copier.compare(source, target)
    return checks


def finish(client, stack_file: StackFile, tenant: Tenant, *, say: Say) -> MoveResult:
    """A move already switched: fence the old tier again, copy what it holds that the serving
    tier lacks (an ingest under way at the switch), and register the tenant's tier."""
    settings = stack_file.settings()
    serving, old = settings.tier(tenant), tenant.copy_left_in
    assert old is not None
    result = MoveResult("finished", refusals=Refusals(tenant.tenant_id))
    with TenantLock(
        client, settings, tenant.tenant_id, [serving, old], operation="move", on_wait=say
    ) as lock:
        lock.fence(old, moved_to(serving))
        copier = Copier(
            client,
            settings,
            tenant.tenant_id,
            refusals=result.refusals,
            heartbeat=lock.ensure,
            operation_id=lock.owner,
        )
        result.copies = copier.copy(old, serving, newer_only=True)
    failpoint("move:finished")
    register_tenants(client, settings, [tenant.tenant_id])
    return result


@dataclass
class DropResult:
    deleted: list[tuple[str, int]]
    tables_deleted: list[str]
    old: Tier
    refusals: Refusals


@dataclass
class DropPreview:
    """What `drop_copy` would delete, read without a lock and without writing anything."""

    old: Tier
    serving: Tier
    # (table, the tenant's records there that the serving tier holds: what would be deleted)
    tables: list[tuple[str, int]]
    lagging: int  # records of the old copy the serving tier lacks: drop-copy would refuse
    refusals: Refusals


def _copy_left(stack_file: StackFile, tenant_id: str) -> tuple[Tier, Tier]:
    """The tier the tenant's old copy is in, and the one serving it."""
    settings = stack_file.settings()
    tenant = settings.roster.get(tenant_id)
    old, serving = tenant.copy_left_in, settings.tier(tenant)
    if old is None:
        raise OperationRefused(f"tenant {tenant_id!r} has no copy left in another tier")
    return old, serving


def old_copy_tables(stack_file: StackFile, tenant_id: str) -> tuple[Tier, list[str]]:
    """The tier of the copy a move left, and the tables it is in (what a confirmation names)."""
    old, _ = _copy_left(stack_file, tenant_id)
    tables = tier_tables(stack_file.settings(), tenant_id, old)
    return old, [table.name for table in tables.values()]


def drop_copy_preview(client, stack_file: StackFile, tenant_id: str) -> DropPreview:
    """What `drop_copy` would delete now: the old copy compared with the serving tier, as
    `drop_copy` does before it deletes, but read only (no lease, no fence, nothing written)."""
    old, serving = _copy_left(stack_file, tenant_id)
    settings = stack_file.settings()
    refusals = Refusals(tenant_id)
    checks = Copier(client, settings, tenant_id, refusals=refusals).lagging(old, serving)
    tables = tier_tables(settings, tenant_id, old)
    by_kind = {check.kind: check for check in checks}
    return DropPreview(
        old,
        serving,
        [
            (table.name, by_kind[kind.plural].source_records - len(by_kind[kind.plural].missing))
            for kind in TENANT_DATA_KINDS
            for table in [tables[kind.layout.kind]]
        ],
        sum(len(check.missing) for check in checks),
        refusals,
    )


def drop_copy(client, stack_file: StackFile, tenant_id: str, *, say: Say) -> DropResult:
    """Delete the copy a finished move left in the tenant's old tier, once the serving tier
    is known to hold all of it."""
    settings = stack_file.settings()
    old, serving = _copy_left(stack_file, tenant_id)
    refusals = Refusals(tenant_id)
    tables_deleted: list[str] = []
    with TenantLock(
        client, settings, tenant_id, [serving, old], operation="drop-copy", on_wait=say
    ) as lock:
        lock.fence(old, moved_to(serving))
        copier = Copier(
            client,
            settings,
            tenant_id,
            refusals=refusals,
            heartbeat=lock.ensure,
            operation_id=lock.owner,
        )
        checks = copier.lagging(old, serving)
        lagging = [check for check in checks if not check.equal]
        if lagging:
            missing = sum(len(check.missing) for check in lagging)
            shown = ", ".join(key for check in lagging for key in check.missing[:5])
            raise OperationFailed(
                f"the copy in {old} holds {missing:,} records that {serving} lacks or holds "
                f"only in an older version (e.g. {shown}): they were written after the move's "
                f"copy. Nothing was deleted. `salestalk tenant move {tenant_id} --to {serving}` "
                "copies them; then run this again"
            )
        failpoint("drop-copy:verified")
        deleted = copier.delete_copied(old, serving)  # only what the serving tier holds
        if old is Tier.SILO and not settings.protect_data:
            # an unprotected stack's data is disposable: its old tables go, unless an item the
            # copy did not carry is still in one (reported above; never deleted unseen)
            for name, _ in deleted:
                if refusals.by_table[name] or describe(client, name) is None:
                    continue
                client.delete_table(TableName=name)
                client.get_waiter("table_not_exists").wait(TableName=name)
                tables_deleted.append(name)
                failpoint("drop-copy:table-deleted")
            if len(tables_deleted) == len(deleted):
                lock.forget(old)
    failpoint("drop-copy:deleted")
    settings = stack_file.update_tenant(
        tenant_id, {COPY_LEFT_IN: None}, expect={COPY_LEFT_IN: str(old)}
    )
    register_tenants(client, settings, [tenant_id])
    return DropResult(deleted, tables_deleted, old, refusals)


def _text(tier: Tier | None) -> str | None:
    return str(tier) if tier is not None else None


__all__ = [
    "DropPreview",
    "DropResult",
    "MoveResult",
    "drop_copy",
    "drop_copy_preview",
    "finish",
    "move",
    "old_copy_tables",
]
