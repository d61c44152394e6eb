"""Tenant-scoped reads, one function per access pattern, never a Scan.

Every read goes to a key or an index (DATA_CONTRACTS.md says which), pages through results
with boto3's paginators, and returns contract models; `frame()` turns them into a DataFrame for
notebooks. A reader is bound to one tenant and can only name that tenant's tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionExpressionBuilder, Key

from ingestion.contracts import Message, Metric, MetricType, TenantRecord, period_granularity
from ingestion.items import (
    GRANULARITY_ATTR,
    MESSAGE,
    METRIC,
    TENANT,
    RecordKind,
    deserialize,
    parse_metric_record_key,
    serialize,
    series_id,
)
from ingestion.ownership import Refusals, Refused, record_of
from tenancy.roster import TenantStatus
from tenancy.settings import StackSettings
from tenancy.tables import (
    DIMENSION_INDEX,
    MESSAGES_LAYOUT,
    METADATA_LAYOUT,
    METRIC_TYPE_INDEX,
    METRICS_LAYOUT,
    OWNER_EMAIL_INDEX,
    SENDER_INDEX,
    SESSION_INDEX,
    STATUS_INDEX,
    IndexSpec,
    metadata_table_spec,
    tenant_tables,
)


class CrossTenantAccessError(PermissionError):
    """A reader or writer bound to one tenant was asked for another tenant's table."""


class _Reader:
    def __init__(self, client, page_size: int | None = None):
        self.client = client
        self.page_size = page_size  # small pages in tests prove that paging is followed

    def _record(self, table: str, kind: RecordKind, item: dict[str, Any]) -> Any:
        """A stored item as its contract model, once it is known to belong here (None: it
        does not, and the reader has noted why)."""
        return kind.from_item(item)

    def _get(self, table: str, kind: RecordKind, key: dict[str, Any]) -> Any:
        """One item by its primary key (strongly consistent), as its contract model."""
        response = self.client.get_item(TableName=table, Key=serialize(key), ConsistentRead=True)
        item = response.get("Item")
        return self._record(table, kind, deserialize(item)) if item else None

    def _query(
        self,
        table: str,
        kind: RecordKind,
        key_condition,
        *,
        index: str | None = None,
        filter_condition=None,
        forward: bool = True,
    ) -> Iterator[Any]:
        builder = ConditionExpressionBuilder()
        key_expr = builder.build_expression(key_condition, is_key_condition=True)
        names = dict(key_expr.attribute_name_placeholders)
        values = dict(key_expr.attribute_value_placeholders)
        params: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": key_expr.condition_expression,
            "ScanIndexForward": forward,
        }
        if index:
            params["IndexName"] = index
        if filter_condition is not None:
            filter_expr = builder.build_expression(filter_condition)
            params["FilterExpression"] = filter_expr.condition_expression
            names.update(filter_expr.attribute_name_placeholders)
            values.update(filter_expr.attribute_value_placeholders)
        params["ExpressionAttributeNames"] = names
        params["ExpressionAttributeValues"] = serialize(values)
        pagination = {"PageSize": self.page_size} if self.page_size else {}
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(**params, PaginationConfig=pagination):
            for item in page.get("Items", []):
                record = self._record(table, kind, deserialize(item))
                if record is not None:
                    yield record


def _period_range(start: str | None, end: str | None):
    """Key condition on `period` for an inclusive range, and the granularity to keep."""
    granularities = {period_granularity(p) for p in (start, end) if p}
    if len(granularities) > 1:
        raise ValueError(f"period range {start}..{end} mixes granularities")
    if start and end and start > end:
        raise ValueError(f"period range {start}..{end} ends before it starts")
    # No range ends inclusively on a stored value: Amazon's DynamoDB Local stops paging, with
    # no error, when a page ends inside a run of equal sort keys at an inclusive upper bound
    # (`<=`, BETWEEN's second value). One period is asked for with `=`; an upper bound is
    # the first text after it (`end` + NUL), which no period is, so `<= end` is `< that`.
    period = Key(METRICS_LAYOUT.range_key.name)
    if start and end:
        condition = period.eq(start) if start == end else period.between(start, _after(end))
    elif start:
        condition = period.gte(start)
    elif end:
        condition = period.lt(_after(end))
    else:
        condition = None
    return condition, (granularities.pop() if granularities else None)


def _after(text: str) -> str:
    """The first string after `text` in DynamoDB's (byte) order."""
    return text + "\x00"


class TenantReader(_Reader):
    """Reads one tenant's messages and metrics, and returns nothing that is not the tenant's:
    every item read passes `ingestion.ownership`'s check, and one that does not is skipped
    and noted in `refused` (count and keys) for the caller to report: another tenant's
    planted item never costs this one its own data."""

    def __init__(self, client, settings: StackSettings, tenant_id: str, page_size=None):
        super().__init__(client, page_size)
        self.tenant = settings.roster.get(tenant_id)
        tables = tenant_tables(settings, self.tenant)  # its own, or the pool's
        self.messages = tables[MESSAGES_LAYOUT.kind]
        self.metrics = tables[METRICS_LAYOUT.kind]
        self.messages_table = self.messages.name
        self.metrics_table = self.metrics.name
        self.message_kind = MESSAGE.stored_in(self.messages.layout)
        self.metric_kind = METRIC.stored_in(self.metrics.layout)
        self.refused = Refusals(self.tenant.tenant_id)

    def _record(self, table: str, kind: RecordKind, item: dict[str, Any]) -> Any:
        """Every item read from a tenant's table must carry that tenant's id, and in a pool
        table also keys that lead with it. The keys are what IAM guards (LeadingKeys): another
        tenant's role could write an item naming this tenant in its fields and index keys,
        but never under a primary key of this tenant's, so such an item is skipped here."""
        found = record_of(item, kind, self.tenant.tenant_id, table)
        if isinstance(found, Refused):
            self.refused.add(found)
            return None
        return found

    def own_table(self, name: str) -> str:
        """Refuse any table that is not this tenant's own."""
        if name not in (self.messages_table, self.metrics_table):
            raise CrossTenantAccessError(
                f"a reader of tenant {self.tenant.tenant_id!r} cannot read table {name!r}"
            )
        return name

    # --- messages ---

    def message(self, message_id: str) -> Message | None:
        key = self.messages.layout.primary_key(
            {MESSAGES_LAYOUT.hash_key.name: message_id}, self.tenant.tenant_id
        )
        return self._get(self.own_table(self.messages_table), self.message_kind, key)

    def session_messages(self, session_id: str) -> list[Message]:
        """A session's messages in time order (ties by message id)."""
        return self._messages(SESSION_INDEX, session_id)

    def sender_messages(self, sender_id: str) -> list[Message]:
        """A sender's messages in time order (ties by message id)."""
        return self._messages(SENDER_INDEX, sender_id)

    def _messages(self, index: IndexSpec, value: str) -> list[Message]:
        name, stored = self.messages.layout.partition_key(value, self.tenant.tenant_id, index)
        found = self._query(
            self.own_table(self.messages_table),
            self.message_kind,
            Key(name).eq(stored),
            index=index.name,
        )
        # The index orders by timestamp; messages of the same second keep a stable order.
        return sorted(found, key=lambda m: (m.timestamp, m.message_id))

    # --- metrics ---

    def metric_series(
        self,
        subject: str,
        *,
        dimension: str | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> list[Metric]:
        """One metric's time series (a subject, optionally one dimension), oldest first.

        With period bounds, only periods of the bounds' granularity are returned (a range of
        quarters does not include the year's total).
        """
        period_condition, granularity = _period_range(start, end)
        name, stored = self.metrics.layout.partition_key(
            series_id(subject, dimension), self.tenant.tenant_id
        )
        condition = Key(name).eq(stored)
        if period_condition is not None:
            condition = condition & period_condition
        return list(
            self._query(
                self.own_table(self.metrics_table),
                self.metric_kind,
                condition,
                filter_condition=Attr(GRANULARITY_ATTR).eq(granularity) if granularity else None,
            )
        )

    def metric(self, record_key: str) -> Metric | None:
        """One metric by its idempotency key `{tenantId}:{subject}:{period}[:{dimension}]`."""
        tenant_id, subject, period, dimension = parse_metric_record_key(record_key)
        if tenant_id != self.tenant.tenant_id:
            raise CrossTenantAccessError(
                f"{record_key!r} belongs to tenant {tenant_id!r}, not {self.tenant.tenant_id!r}"
            )
        key = self.metrics.layout.primary_key(
            {
                METRICS_LAYOUT.hash_key.name: series_id(subject, dimension),
                METRICS_LAYOUT.range_key.name: period,
            },
            self.tenant.tenant_id,
        )
        return self._get(self.own_table(self.metrics_table), self.metric_kind, key)

    def all_metrics(self, *, start: str | None = None, end: str | None = None) -> list[Metric]:
        """Every metric of the tenant: one index query per metric type (a closed set)."""
        found = [
            metric
            for metric_type in MetricType
            for metric in self.metrics_by_type(metric_type.value, start=start, end=end)
        ]
        return sorted(found, key=lambda m: (m.subject, m.dimension or "", m.period))

    def series_catalogue(self) -> dict[str, set[str | None]]:
        """Every subject the tenant has metrics of, with the dimensions of its series (None:
        the series without a dimension): what a query that found nothing can suggest."""
        catalogue: dict[str, set[str | None]] = {}
        for metric in self.all_metrics():
            catalogue.setdefault(metric.subject, set()).add(metric.dimension)
        return catalogue

    def metrics_by_type(
        self, metric_type: str, *, start: str | None = None, end: str | None = None
    ) -> list[Metric]:
        return self._metrics_by(METRIC_TYPE_INDEX, metric_type, start, end)

    def metrics_by_dimension(
        self, dimension: str, *, start: str | None = None, end: str | None = None
    ) -> list[Metric]:
        return self._metrics_by(DIMENSION_INDEX, dimension, start, end)

    def _metrics_by(self, index: IndexSpec, value, start, end) -> list[Metric]:
        period_condition, granularity = _period_range(start, end)
        name, stored = self.metrics.layout.partition_key(value, self.tenant.tenant_id, index)
        condition = Key(name).eq(stored)
        if period_condition is not None:
            condition = condition & period_condition
        found = self._query(
            self.own_table(self.metrics_table),
            self.metric_kind,
            condition,
            index=index.name,
            filter_condition=Attr(GRANULARITY_ATTR).eq(granularity) if granularity else None,
        )
        return sorted(found, key=lambda m: (m.period, m.subject, m.dimension or ""))


class MetadataReader(_Reader):
    """Reads the global tenants-metadata table."""

    def __init__(self, client, settings: StackSettings, page_size=None):
        super().__init__(client, page_size)
        self.table = metadata_table_spec(settings).name

    def tenant(self, tenant_id: str) -> TenantRecord | None:
        return self._get(self.table, TENANT, {METADATA_LAYOUT.hash_key.name: tenant_id})

    def tenants_by_owner(self, owner_email: str) -> list[TenantRecord]:
        return self._by(OWNER_EMAIL_INDEX, owner_email)

    def tenants_by_status(self, status: str) -> list[TenantRecord]:
        return self._by(STATUS_INDEX, status)

    def all_tenants(self) -> list[TenantRecord]:
        """Every registered tenant: one StatusIndex query per lifecycle status (a closed set)."""
        found = [t for status in TenantStatus for t in self.tenants_by_status(status.value)]
        return sorted(found, key=lambda t: t.tenant_id)

    def _by(self, index: IndexSpec, value: str) -> list[TenantRecord]:
        return list(
            self._query(self.table, TENANT, Key(index.hash_key.name).eq(value), index=index.name)
        )


def frame(records: Iterable[Any], columns: Sequence[str] | None = None):
    """Contract models as a pandas DataFrame (camelCase columns, nested fields flattened)."""
    import pandas as pd

    rows = [record.model_dump(by_alias=True, mode="python") for record in records]
    table = pd.json_normalize(rows) if rows else pd.DataFrame(columns=list(columns or []))
    return table[list(columns)] if columns and rows else table
