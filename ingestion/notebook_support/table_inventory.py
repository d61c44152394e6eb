"""Inspection: what tables exist and what they hold, for people looking at a stack.

Unlike `ingestion.queries`, this module reads whole tables (Scan): listing a tenant's sessions
or peeking at a table's items is not an access pattern of the product, it is an operator's
look at the data. It is used by the notebooks and needs operator credentials; the tenant
data-access roles are not allowed to Scan (tenancy/access_policy.py).
"""

from __future__ import annotations

from typing import Any

from ingestion.items import deserialize
from ingestion.lease import LEASE_KEY
from tenancy.endpoint_features import describe_setting
from tenancy.settings import StackSettings
from tenancy.table_status import table_statuses
from tenancy.tables import MESSAGES_LAYOUT, SESSION_INDEX, tenant_table_specs

GLOBAL = "(global)"  # the tenant column of the metadata table


def table_overview(client, settings: StackSettings) -> list[dict[str, Any]]:
    """One row per table of the stack: keys, indexes, settings, item count, drift."""
    rows = []
    for status in table_statuses(client, settings):
        row: dict[str, Any] = {
            "table": status.name,
            "tenant": status.tenant or GLOBAL,
            "exists": status.exists,
        }
        live = status.live
        if live is not None:
            row.update(
                {
                    "key": live.keys,
                    "indexes": live.describe_indexes(),
                    "billing": live.billing_mode,
                    "encryption": describe_setting(live.server_side_encryption),
                    "pitr": describe_setting(live.point_in_time_recovery),
                    "deletion_protection": describe_setting(live.deletion_protection),
                    "items": status.items,
                    "matches_definition": not status.drift,
                }
            )
        rows.append(row)
    return rows


def scan(client, table: str, limit: int | None = None, projection: str | None = None):
    """Items of a table as plain Python values (all of them, or the first `limit`)."""
    params: dict[str, Any] = {"TableName": table}
    if projection:
        params["ProjectionExpression"] = projection
    pagination = {"MaxItems": limit} if limit else {}
    for page in client.get_paginator("scan").paginate(**params, PaginationConfig=pagination):
        for item in page.get("Items", []):
            if {"S": LEASE_KEY} not in item.values():  # an ingest's writer lease, not data
                yield deserialize(item)


def sample(client, table: str, limit: int = 3) -> list[dict[str, Any]]:
    return list(scan(client, table, limit=limit))


def sessions(client, settings: StackSettings, tenant_id: str) -> list[str]:
    """The ids of a tenant's conversation sessions, sorted."""
    tenant = settings.roster.get(tenant_id)
    table = tenant_table_specs(settings, tenant)[MESSAGES_LAYOUT.kind].name
    session = SESSION_INDEX.hash_key.name
    return sorted({i[session] for i in scan(client, table, projection=session) if session in i})
