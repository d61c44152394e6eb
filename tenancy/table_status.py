"""Each table of a stack as it is on the endpoint, beside its definition: what `salestalk
tables` prints (as text or JSON) and what the inspection notebook shows, worked out once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenancy.endpoint_features import features_of
from tenancy.provisioner import describe, shape_of
from tenancy.settings import StackSettings
from tenancy.tables import TENANT_TAG, TableShape, all_table_specs


@dataclass(frozen=True)
class TableStatus:
    name: str
    tenant: str | None  # None: a table of the whole stack (tenants-metadata)
    wanted: TableShape
    live: TableShape | None  # None: the table does not exist
    # DescribeTable's count: exact on local engines, refreshed about every six hours on AWS.
    items: int | None

    @property
    def exists(self) -> bool:
        return self.live is not None

    @property
    def drift(self) -> bool:
        return self.live is not None and not self.live.matches(self.wanted)

    def to_json(self) -> dict[str, Any]:
        """Settings as true/false, or null where the endpoint does not support them."""
        live = self.live
        if live is None:
            return {"table": self.name, "tenant": self.tenant, "exists": False}
        return {
            "table": self.name,
            "tenant": self.tenant,
            "exists": True,
            "hashKey": live.hash_key,
            "rangeKey": live.range_key,
            "indexes": {
                name: {
                    "hashKey": index.hash_key,
                    "rangeKey": index.range_key,
                    "projection": index.projection,
                }
                for name, index in sorted(live.indexes.items())
            },
            "billingMode": live.billing_mode,
            "encryption": live.server_side_encryption,
            "pointInTimeRecovery": live.point_in_time_recovery,
            "deletionProtection": live.deletion_protection,
            "items": self.items,
            "drift": self.drift,
        }


def table_names(client) -> list[str]:
    """Every table on the endpoint (in the client's region), through ListTables' pages."""
    return [
        name
        for page in client.get_paginator("list_tables").paginate()
        for name in page.get("TableNames", [])
    ]


def table_statuses(client, settings: StackSettings) -> list[TableStatus]:
    """Every table of the stack's roster, in definition order."""
    features = features_of(client)
    statuses = []
    for spec in all_table_specs(settings):
        table = describe(client, spec.name)  # once: the shape and the count both come from it
        live = None if table is None else shape_of(client, table, features)
        items = None if table is None else table.get("ItemCount")
        statuses.append(
            TableStatus(spec.name, spec.tags.get(TENANT_TAG), spec.shape(), live, items)
        )
    return statuses
