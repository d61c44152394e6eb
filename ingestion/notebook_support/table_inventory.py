"""Inspection: what tables exist and what they hold, for people looking at a stack.

Unlike `ingestion.reading.queries`, this module reads whole tables (Scan): listing a tenant's
sessions or peeking at a table's items is not an access pattern of the product, it is an operator's
look at the data. It is used by the notebooks and needs operator credentials; the tenant
data-access roles are not allowed to Scan (tenancy/access_policy.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ingestion.lifecycle.tenant_data import TenantData
from ingestion.notebook_support.readable_tables import readable
from ingestion.reading.ownership import Refusals
from ingestion.reading.query_output import flat_text
from ingestion.records.items import (
    BOOKKEEPING_ATTRS,
    CONTENT_HASH_ATTR,
    INGESTED_AT_ATTR,
    MESSAGE,
    TENANT_ID_ATTR,
    deserialize,
)
from ingestion.writing.lease import is_lease
from tenancy.endpoint_features import describe_setting
from tenancy.settings import StackSettings
from tenancy.table_status import table_statuses
from tenancy.tables import MESSAGES_LAYOUT, billing_text, tenant_tables

# DynamoDB's billing modes as its console names them


def table_overview(client, settings: StackSettings) -> list[dict[str, Any]]:
    """One row per table of the stack: keys, indexes, settings, item count, drift."""
    rows = []
    for status in table_statuses(client, settings):
        row: dict[str, Any] = {"table": status.name}
        live = status.live
        if live is not None:
            row.update(
                {
                    "key": live.keys,
                    "indexes": live.describe_indexes(separator="\n"),
                    "billing": billing_text(live.billing_mode),
                    "encryption": describe_setting(live.server_side_encryption),
                    "pitr": describe_setting(live.point_in_time_recovery),
                    "deletion protection": describe_setting(live.deletion_protection),
                    "items": status.items,
                    "last write": last_write(client, status.name),
                    "as defined": not status.drift,
                }
            )
        else:
            row["as defined"] = "missing"
        rows.append(row)
    return rows


def overview_frame(rows: list[dict[str, Any]]):
    """`table_overview` as a readable table: names on one line, one index per line, so that
    a stack's tables fit a notebook's width."""
    return readable(pd.DataFrame(rows), nowrap=["table", "billing"])


def scan(client, table: str, limit: int | None = None, projection: str | None = None):
    """Items of a table as plain Python values (all of them, or the first `limit`; only the
    `projection` attribute, with the key, when one is named), writer leases left out."""
    schema = client.describe_table(TableName=table)["Table"]["KeySchema"]
    keys = [key["AttributeName"] for key in schema]
    params: dict[str, Any] = {"TableName": table}
    if projection:
        names = {f"#p{n}": name for n, name in enumerate(dict.fromkeys([*keys, projection]))}
        params["ProjectionExpression"] = ", ".join(names)
        params["ExpressionAttributeNames"] = names
    pagination = {"MaxItems": limit} if limit else {}
    for page in client.get_paginator("scan").paginate(**params, PaginationConfig=pagination):
        for wire in page.get("Items", []):
            item = deserialize(wire)
            if not is_lease(item, keys):  # an ingest's writer lease, not data
                yield item


def sample(client, table: str, limit: int = 3) -> list[dict[str, Any]]:
    return list(scan(client, table, limit=limit))


# Items a table's last write is looked for in: the overview costs a bounded read per table,
# however many items the table holds.
LAST_WRITE_SAMPLE = 5_000


def last_write(client, table: str, limit: int = LAST_WRITE_SAMPLE) -> pd.Timestamp | str | None:
    """When an ingest last wrote to the table: the newest `ingestedAt` of its items (read by
    Scan, projecting that one attribute; DynamoDB keeps no such time per table). A table with
    more than `limit` items is not read whole: what the items read say is a lower bound, and
    the text says so."""
    items = list(scan(client, table, limit=limit + 1, projection=INGESTED_AT_ATTR))
    times = [i[INGESTED_AT_ATTR] for i in items[:limit] if INGESTED_AT_ATTR in i]
    if not times:
        return None
    newest = pd.Timestamp(max(times))
    if len(items) <= limit:
        return newest
    return f"{newest:%Y-%m-%d %H:%M} or later ({limit:,} items read)"


def sample_view(items: list[dict[str, Any]]) -> pd.DataFrame:
    """Items side by side, one column per item and one row per field, so that no field is
    hidden off the right edge; each value as the query table writes it (`query_output`), a
    content hash shortened. Fields come in one order whatever order the engine stores them
    in: the tenant, the record's own fields by name, then the platform's bookkeeping."""
    flat = [flat_text(item) for item in items]
    for fields in flat:
        digest = fields.get(CONTENT_HASH_ATTR, "")
        if len(digest) > HASH_SHOWN:
            fields[CONTENT_HASH_ATTR] = digest[:HASH_SHOWN] + "\u2026"
    names = sorted({name for fields in flat for name in fields}, key=_field_order)
    columns = {
        f"item {n}": [fields.get(name, "") for name in names]
        for n, fields in enumerate(flat, start=1)
    }
    return pd.DataFrame(columns, index=pd.Index(names, name="field"))


def _field_order(name: str) -> tuple[int, int, str]:
    if name == TENANT_ID_ATTR:
        return (0, 0, name)
    if name in BOOKKEEPING_ATTRS:
        return (2, BOOKKEEPING_ATTRS.index(name), name)
    return (1, 0, name)


HASH_SHOWN = 16  # characters of a content hash a sample shows: enough to tell two apart


# Messages read to find a tenant's newest sessions: what a report costs, whatever the tenant
# holds (a tenant with fewer is read whole, and its sessions are exact).
SESSION_SAMPLE = 5_000


@dataclass(frozen=True)
class SessionSample:
    """A tenant's sessions, newest first (by their latest message), as a bounded read of its
    messages found them: all of them when `complete`."""

    sessions: list[str]
    read: int
    complete: bool


def recent_sessions(
    client,
    settings: StackSettings,
    tenant_id: str,
    refusals: Refusals | None = None,
    limit: int = SESSION_SAMPLE,
) -> SessionSample:
    """The sessions of at most `limit` of the tenant's messages, newest first: read from its
    own messages table, or from its items in the pool through the tenant index
    (`ingestion.lifecycle`), each item checked as the reader checks it (the ones skipped go
    into `refusals`). DynamoDB keeps no order of a tenant's messages across sessions, so a
    larger tenant's newest sessions are those of the messages read."""
    tenant = settings.roster.get(tenant_id)
    table = tenant_tables(settings, tenant)[MESSAGES_LAYOUT.kind]
    refusals = refusals if refusals is not None else Refusals(tenant_id)
    data = TenantData.of(client, table, MESSAGE, refusals)
    latest: dict[str, int] = {}
    read, complete = 0, True
    for _, record in data.records():
        if read == limit:
            complete = False
            break
        read += 1
        latest[record.session_id] = max(latest.get(record.session_id, 0), record.timestamp)
    newest = sorted(latest, key=lambda s: (-latest[s], s))
    return SessionSample(newest, read, complete)
