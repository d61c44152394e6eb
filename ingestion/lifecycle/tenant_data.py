"""All of one tenant's items in one table, read the way only the tenant's own keys allow.

A siloed tenant's table is the tenant: it is read whole (a strongly consistent Scan). A pooled
tenant's items are found through the pool table's tenant index (`TENANT_INDEX`: its
`TENANT_SHARDS` partitions `{tenantId}#00`..), which costs the tenant's items, not the pool's,
and stays within the tenant's `LeadingKeys` condition; the items themselves are then read by
key (BatchGetItem, strongly consistent), because the index holds keys only and is eventually
consistent. An index entry whose primary key does not lead with the tenant's id was written by
another tenant (any writer chooses an item's index keys): it is skipped and reported, never
read as the tenant's, never deleted on the tenant's behalf.

Writer leases and fences are told by their key and left out (`ingestion.writing.lease`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ingestion.reading.ownership import Refusals, Refused, leads_with, record_of
from ingestion.records.items import RecordKind, deserialize, serialize
from ingestion.writing.lease import is_lease
from ingestion.writing.store import BATCH_GET_LIMIT, TableStore
from tenancy.provisioner import describe
from tenancy.tables import POOL_KEY_SEPARATOR, TENANT_INDEX, TenantTable, tenant_shards


def _nothing() -> None:
    return None


@dataclass
class TenantData:
    """One tenant's items of one kind in one table (its own, or a pool table)."""

    client: Any
    table: TenantTable
    kind: RecordKind  # as stored in this table (`RecordKind.stored_in`)
    refusals: Refusals
    # Called once per page read: a tenant operation renews its leases there.
    heartbeat: Callable[[], None] = field(default=_nothing)
    page_size: int | None = None  # small pages in tests prove that paging is followed

    @classmethod
    def of(
        cls, client, table: TenantTable, kind: RecordKind, refusals: Refusals, **options
    ) -> TenantData:
        return cls(client, table, kind.stored_in(table.layout), refusals, **options)

    @property
    def tenant_id(self) -> str:
        return self.table.tenant_id

    @property
    def name(self) -> str:
        return self.table.name

    def exists(self) -> bool:
        return describe(self.client, self.name) is not None

    def store(self) -> TableStore:
        return TableStore(self.client, self.name, self.kind)

    # --- keys ---

    def item_keys(self) -> Iterator[dict[str, Any]]:
        """The primary key of every item stored under the tenant's keys (not leases)."""
        if self.table.layout.pooled:
            yield from self._pool_keys()
        else:
            yield from self._silo_keys()

    def _pool_keys(self) -> Iterator[dict[str, Any]]:
        hash_key = self.table.layout.hash_key.name
        for shard in tenant_shards(self.tenant_id):
            for entry in self._pages(
                "query",
                IndexName=TENANT_INDEX.name,
                KeyConditionExpression="#shard = :shard",
                ExpressionAttributeNames={"#shard": TENANT_INDEX.hash_key.name},
                ExpressionAttributeValues=serialize({":shard": shard}),
            ):
                key = self.kind.key_dict(entry)
                if leads_with(self.tenant_id, entry.get(hash_key)):
                    yield key
                else:
                    why = "in the tenant's index under another tenant's key (written by it)"
                    self.refusals.add(Refused(self.name, key, why))

    def swept_keys(self) -> Iterator[dict[str, Any]]:
        """In a pool table, the primary key of every item whose key leads with the tenant's
        id, found by a Scan of the whole table: also the items the tenant's role wrote
        without a tenant index shard, which no index lists (leases left out). The whole pool
        is read: for an erasure that must leave nothing, not for everyday reads."""
        if not self.table.layout.pooled:
            yield from self._silo_keys()
            return
        hash_key = self.table.layout.hash_key.name
        aliases = {f"#k{n}": name for n, name in enumerate(self.kind.key_names())}
        for item in self._pages(
            "scan",
            ConsistentRead=True,
            FilterExpression="begins_with(#k0, :lead)",
            ProjectionExpression=", ".join(aliases),
            ExpressionAttributeNames=aliases,
            ExpressionAttributeValues=serialize({":lead": f"{self.tenant_id}{POOL_KEY_SEPARATOR}"}),
        ):
            if leads_with(self.tenant_id, item.get(hash_key)) and not is_lease(
                item, self.kind.key_names()
            ):
                yield self.kind.key_dict(item)

    def _silo_keys(self) -> Iterator[dict[str, Any]]:
        aliases = {f"#k{n}": name for n, name in enumerate(self.kind.key_names())}
        for item in self._pages(
            "scan",
            ConsistentRead=True,
            ProjectionExpression=", ".join(aliases),
            ExpressionAttributeNames=aliases,
        ):
            if not is_lease(item, self.kind.key_names()):
                yield self.kind.key_dict(item)

    # --- whole items ---

    def items(self) -> Iterator[dict[str, Any]]:
        """Every item stored under the tenant's keys, whole, as plain values (not leases);
        nothing said yet about whose it is (`records` says)."""
        if not self.table.layout.pooled:
            for item in self._pages("scan", ConsistentRead=True):
                if not is_lease(item, self.kind.key_names()):
                    yield item
            return
        store = self.store()
        batch: list[dict[str, Any]] = []
        for key in self._pool_keys():
            batch.append(key)
            if len(batch) == BATCH_GET_LIMIT:
                yield from self._fetched(store, batch)
                batch = []
        if batch:
            yield from self._fetched(store, batch)

    def _fetched(self, store: TableStore, keys: list[dict[str, Any]]):
        found = store.fetch(keys)
        self.heartbeat()
        for key in keys:  # in index order; an item deleted since it was listed is simply gone
            item = found.get(self.kind.key_of(key))
            if item is not None:
                yield item

    def records(self) -> Iterator[tuple[dict[str, Any], BaseModel]]:
        """Every item that is the tenant's valid record, with that record; any other item
        under its keys is counted in `refusals` (`ingestion.reading.ownership`)."""
        for item in self.items():
            found = record_of(item, self.kind, self.tenant_id, self.name)
            if isinstance(found, Refused):
                self.refusals.add(found)
            else:
                yield item, found

    def _pages(self, operation: str, **params) -> Iterator[dict[str, Any]]:
        pagination = {"PageSize": self.page_size} if self.page_size else {}
        paginator = self.client.get_paginator(operation)
        for page in paginator.paginate(TableName=self.name, **params, PaginationConfig=pagination):
            self.heartbeat()
            for wire in page.get("Items", []):
                yield deserialize(wire)
