"""Moving a tenant between tiers: copy its items to the other tier, verify, then drop the copy
left behind, each a separate step (`salestalk tenant move`, `salestalk tenant drop-copy`).

A copy is the stored item itself, bookkeeping and all (`contentHash`, `ingestedAt`,
`ingestId` keep their lineage), with the source tier's composed keys taken off and the
target's put on (`TableLayout.compose`). It is idempotent and resumable: each chunk first
reads what the target already holds under the same keys and writes only what is missing or
differs, so a copy killed part-way and run again ends with every item once, and a finished
copy run again writes nothing. Verification compares the two tiers' (record key, content
hash) sets, so a count that matches by accident cannot pass.

Reading a tenant's whole data is an operator's task, not an access pattern: a siloed tenant's
tables are read whole, a pooled tenant's items are found by a Scan of the pool table filtered
on its id (the whole pool table is read once per kind; DATA_CONTRACTS.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ingestion.items import (
    CONTENT_HASH_ATTR,
    RECORD_KEY_ATTR,
    TENANT_DATA_KINDS,
    TENANT_ID_ATTR,
    RecordKind,
    deserialize,
    item_size,
    serialize,
)
from ingestion.lease import is_lease
from ingestion.store import BATCH_GET_LIMIT, TableStore
from tenancy.roster import Tier
from tenancy.settings import StackSettings
from tenancy.tables import TenantTable, tier_tables


class MoveError(RuntimeError):
    """A move that cannot go on as asked; the message says what to do."""


@dataclass(frozen=True)
class _Copy:
    """One item as the target tier stores it (the store's `Writable`)."""

    item: dict[str, Any]
    wire: dict[str, Any]
    size: int


@dataclass
class KindCopy:
    """What a copy did for one kind of record."""

    kind: str
    source_table: str
    target_table: str
    read: int = 0
    copied: int = 0
    already_there: int = 0


@dataclass
class Verification:
    """The two tiers' copies of one kind compared by (record key, content hash)."""

    kind: str
    source_items: int
    target_items: int
    missing: list[str] = field(default_factory=list)  # record keys not (or not alike) in target
    extra: list[str] = field(default_factory=list)  # record keys only in the target

    @property
    def equal(self) -> bool:
        return not self.missing and not self.extra

    def describe(self) -> str:
        if self.equal:
            return f"{self.kind}: {self.source_items:,} items, the same in both tiers"
        shown = ", ".join((self.missing + self.extra)[:5])
        return (
            f"{self.kind}: {self.source_items:,} in the source, {self.target_items:,} in the "
            f"target; {len(self.missing):,} missing or different, {len(self.extra):,} extra "
            f"(e.g. {shown})"
        )


def tenant_items(client, table: TenantTable, kind: RecordKind) -> Iterator[dict[str, Any]]:
    """Every item of the tenant in one table, as plain values (strongly consistent Scan;
    filtered on the tenant's id in a pool table); writer leases left out."""
    params: dict[str, Any] = {"TableName": table.name, "ConsistentRead": True}
    if table.layout.pooled:
        params["FilterExpression"] = "#tenant = :tenant"
        params["ExpressionAttributeNames"] = {"#tenant": TENANT_ID_ATTR}
        params["ExpressionAttributeValues"] = {":tenant": {"S": table.tenant_id}}
    for page in client.get_paginator("scan").paginate(**params):
        for wire in page.get("Items", []):
            item = deserialize(wire)
            if not is_lease(item):
                yield item


def restored(item: dict[str, Any], source: RecordKind, target: RecordKind) -> dict[str, Any]:
    """The item as the target layout stores it: the source's composed keys off, the
    target's on; every other attribute as it was."""
    plain = {k: v for k, v in item.items() if k not in source.layout.composed_names()}
    return {**plain, **target.layout.compose(plain)}


def _tables(settings: StackSettings, tenant_id: str, to: Tier):
    tenant = settings.roster.get(tenant_id)
    current = settings.tier(tenant)
    if to == current:
        raise MoveError(f"tenant {tenant_id!r} is already in the {to} tier")
    return tier_tables(settings, tenant, current), tier_tables(settings, tenant, to)


def copy_tenant(
    client, settings: StackSettings, tenant_id: str, to: Tier, *, chunk: int = BATCH_GET_LIMIT
) -> list[KindCopy]:
    """Copy a tenant's items from its tier to `to`, writing only what the target lacks."""
    sources, targets = _tables(settings, tenant_id, to)
    reports = []
    for kind in TENANT_DATA_KINDS:
        source, target = sources[kind.layout.kind], targets[kind.layout.kind]
        source_kind, target_kind = kind.stored_in(source.layout), kind.stored_in(target.layout)
        store = TableStore(client, target.name, target_kind)
        report = KindCopy(kind.plural, source.name, target.name)
        batch: list[dict[str, Any]] = []
        for item in tenant_items(client, source, source_kind):
            batch.append(restored(item, source_kind, target_kind))
            if len(batch) == chunk:
                _copy_batch(store, target_kind, batch, report)
                batch = []
        if batch:
            _copy_batch(store, target_kind, batch, report)
        reports.append(report)
    return reports


def _copy_batch(store: TableStore, kind: RecordKind, batch, report: KindCopy) -> None:
    report.read += len(batch)
    there = store.fetch([kind.key_dict(i) for i in batch], attributes=[CONTENT_HASH_ATTR])
    missing = [
        i
        for i in batch
        if there.get(kind.key_of(i), {}).get(CONTENT_HASH_ATTR) != i[CONTENT_HASH_ATTR]
    ]
    refused = store.put_batch([_Copy(i, serialize(i), item_size(i)) for i in missing])
    if refused:
        copy, why = refused[0]
        raise MoveError(f"{store.table_name} refused {copy.item[RECORD_KEY_ATTR]!r}: {why}")
    report.copied += len(missing)
    report.already_there += len(batch) - len(missing)


def verify_copy(client, settings: StackSettings, tenant_id: str, to: Tier) -> list[Verification]:
    """Compare the tenant's items in its tier and in `to`, kind by kind."""
    sources, targets = _tables(settings, tenant_id, to)
    return [_compare(client, kind, sources, targets) for kind in TENANT_DATA_KINDS]


def _compare(client, kind: RecordKind, sources, targets) -> Verification:
    def fingerprints(table: TenantTable) -> dict[str, str]:
        stored_kind = kind.stored_in(table.layout)
        return {
            i[RECORD_KEY_ATTR]: i[CONTENT_HASH_ATTR]
            for i in tenant_items(client, table, stored_kind)
        }

    source = fingerprints(sources[kind.layout.kind])
    target = fingerprints(targets[kind.layout.kind])
    return Verification(
        kind=kind.plural,
        source_items=len(source),
        target_items=len(target),
        missing=sorted(k for k, h in source.items() if target.get(k) != h),
        extra=sorted(set(target) - set(source)),
    )


def drop_copy(client, settings: StackSettings, tenant_id: str) -> list[tuple[str, int]]:
    """Delete the copy a finished move left in the tenant's old tier (`copyLeftIn`): its
    items in the pool tables, or its old tables' items (the tables themselves go with
    `salestalk provision`'s clean-up or `pulumi up`). (table, items deleted) per kind."""
    tenant = settings.roster.get(tenant_id)
    if tenant.copy_left_in is None:
        raise MoveError(f"tenant {tenant_id!r} has no copy left in another tier")
    if tenant.copy_left_in == settings.tier(tenant):
        raise MoveError(f"tenant {tenant_id!r} is served from {tenant.copy_left_in}: not a copy")
    done = []
    for kind in TENANT_DATA_KINDS:
        table = tier_tables(settings, tenant, tenant.copy_left_in)[kind.layout.kind]
        stored_kind = kind.stored_in(table.layout)
        store = TableStore(client, table.name, stored_kind)
        keys = [stored_kind.key_dict(i) for i in tenant_items(client, table, stored_kind)]
        store.delete_batch(keys)
        done.append((table.name, len(keys)))
    return done
