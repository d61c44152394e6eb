"""Tenant-scoped reads, one function per access pattern, never a Scan (the whole-tenant reads
of moves, export and erase are `ingestion.lifecycle.tenant_data`'s, and scan a silo's tables).

Every read goes to a key or an index (DATA_CONTRACTS.md says which), pages through results
with boto3's paginators, and returns contract models; `frame()` turns them into a DataFrame for
notebooks. A reader is bound to one tenant and can only name that tenant's tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionExpressionBuilder, Key

from ingestion.reading.ownership import Refusals, Refused, record_of
from ingestion.reading.query_pages import Query
from ingestion.records.contracts import (
    GRANULARITY_ATTR,
    Message,
    Metric,
    MetricType,
    TenantRecord,
    parse_metric_record_key,
    period_granularity,
    series_id,
)
from ingestion.records.items import (
    TENANT,
    TENANT_DATA_KINDS,
    RecordKind,
    deserialize,
    serialize,
)
from tenancy import errors
from tenancy.errors import Failed
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

# What every metric index sorts by, and a period range asks of an index.
PERIOD_ATTR = METRICS_LAYOUT.range_key.name


class PeriodRangeError(errors.Refused, ValueError):
    """A period range that names no periods: mixed granularities, or its end before its start."""


class CrossTenantAccessError(Failed, PermissionError):
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
        partition: tuple[str, Any],
        *,
        sort_condition=None,
        index: IndexSpec | None = None,
        filter_condition=None,
        forward: bool = True,
    ) -> Query:
        """The Query of one partition (of the table, or of `index`), as a `Query` that reads
        only what its caller takes: iterate it, or ask it for a page."""
        name, value = partition
        key_condition = Key(name).eq(value)
        if sort_condition is not None:
            key_condition = key_condition & sort_condition
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
            params["IndexName"] = index.name
        if filter_condition is not None:
            filter_expr = builder.build_expression(filter_condition)
            params["FilterExpression"] = filter_expr.condition_expression
            names.update(filter_expr.attribute_name_placeholders)
            values.update(filter_expr.attribute_value_placeholders)
        params["ExpressionAttributeNames"] = names
        params["ExpressionAttributeValues"] = serialize(values)
        key_names = [*kind.key_names()]
        if index is not None:
            used = kind.layout.index(index.name) if kind.layout.indexes else index
            key_names += [k.name for k in (used.hash_key, used.range_key) if k]
        return Query(
            self,
            table,
            kind,
            params,
            tuple(dict.fromkeys(key_names)),
            (name, serialize({"v": value})["v"]),
        )


def _period_range(start: str | None, end: str | None):
    """Key condition on `period` for an inclusive range, and the granularity to keep."""
    granularities = set()
    for period in filter(None, (start, end)):
        try:
            granularities.add(period_granularity(period))
        except ValueError as exc:
            raise PeriodRangeError(f"period {period!r}: {exc}") from None
    if len(granularities) > 1:
        raise PeriodRangeError(f"period range {start}..{end} mixes granularities")
    if start and end and start > end:
        raise PeriodRangeError(f"period range {start}..{end} ends before it starts")
    # No range ends inclusively on a stored value: Amazon's DynamoDB Local stops paging, with
    # no error, when a page ends inside a run of equal sort keys at an inclusive upper bound
    # (`<=`, BETWEEN's second value). One period is asked for with `=`; an upper bound is
    # the first text after it (`end` + NUL), which no period is, so `<= end` is `< that`.
    period = Key(PERIOD_ATTR)
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
    every item read passes `ingestion.reading.ownership`'s check, and one that does not is skipped
    and noted in `refused` (count and keys) for the caller to report: another tenant's
    planted item never costs this one its own data."""

    def __init__(self, client, settings: StackSettings, tenant_id: str, page_size=None):
        super().__init__(client, page_size)
        self.tenant = settings.roster.get(tenant_id)
        # By layout kind ("messages", "metrics"): its own tables, or the pool's.
        self.tables = tenant_tables(settings, self.tenant)
        self.kinds = {
            kind.layout.kind: kind.stored_in(self.tables[kind.layout.kind].layout)
            for kind in TENANT_DATA_KINDS
        }
        self.messages = self.tables[MESSAGES_LAYOUT.kind]
        self.metrics = self.tables[METRICS_LAYOUT.kind]
        self.message_kind = self.kinds[MESSAGES_LAYOUT.kind]
        self.metric_kind = self.kinds[METRICS_LAYOUT.kind]
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
        if name not in {table.name for table in self.tables.values()}:
            raise CrossTenantAccessError(
                f"a reader of tenant {self.tenant.tenant_id!r} cannot read table {name!r}"
            )
        return name

    # --- messages ---

    def message(self, message_id: str) -> Message | None:
        key = self.messages.layout.primary_key(
            {MESSAGES_LAYOUT.hash_key.name: message_id}, self.tenant.tenant_id
        )
        return self._get(self.own_table(self.messages.name), self.message_kind, key)

    def session_messages(self, session_id: str) -> list[Message]:
        """A session's messages in time order (ties by message id)."""
        return _in_time_order(self.session_query(session_id))

    def sender_messages(self, sender_id: str) -> list[Message]:
        """A sender's messages in time order (ties by message id)."""
        return _in_time_order(self.sender_query(sender_id))

    def session_query(self, session_id: str) -> Query:
        """A session's messages as the index orders them (by timestamp), read as taken."""
        return self.index_query(SESSION_INDEX, session_id)

    def sender_query(self, sender_id: str) -> Query:
        """A sender's messages as the index orders them (by timestamp), read as taken."""
        return self.index_query(SENDER_INDEX, sender_id)

    # --- any index ---

    def index_query(
        self, index: IndexSpec, value: str, *, start: str | None = None, end: str | None = None
    ) -> Query:
        """One partition of any index of the tenant's tables, as the index orders it, read as
        taken: what every access pattern by index is (`ingestion.reading.access_patterns`).
        An index sorted by period takes a period range (`start`, `end`, inclusive), which
        keeps only periods of the bounds' granularity."""
        table = self._table_with(index)
        sort_condition = filter_condition = None
        if index.range_key is not None and index.range_key.name == PERIOD_ATTR:
            sort_condition, granularity = _period_range(start, end)
            if granularity:
                filter_condition = Attr(GRANULARITY_ATTR).eq(granularity)
        elif start or end:
            raise PeriodRangeError(f"{index.name} is not sorted by period: it takes no range")
        partition = table.layout.partition_key(value, self.tenant.tenant_id, index)
        return self._query(
            self.own_table(table.name),
            self.kinds[table.layout.kind],
            partition,
            sort_condition=sort_condition,
            index=index,
            filter_condition=filter_condition,
        )

    def _table_with(self, index: IndexSpec):
        for table in self.tables.values():
            if any(own.name == index.name for own in table.layout.indexes):
                return table
        raise KeyError(f"tenant tables have no index {index.name!r}")

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
        return list(self.series_query(subject, dimension=dimension, start=start, end=end))

    def series_query(
        self,
        subject: str,
        *,
        dimension: str | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> Query:
        """`metric_series` as a query read as taken (the table orders it by period)."""
        period_condition, granularity = _period_range(start, end)
        partition = self.metrics.layout.partition_key(
            series_id(subject, dimension), self.tenant.tenant_id
        )
        return self._query(
            self.own_table(self.metrics.name),
            self.metric_kind,
            partition,
            sort_condition=period_condition,
            filter_condition=Attr(GRANULARITY_ATTR).eq(granularity) if granularity else None,
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
        return self._get(self.own_table(self.metrics.name), self.metric_kind, key)

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
        return _by_period(self.type_query(metric_type, start=start, end=end))

    def metrics_by_dimension(
        self, dimension: str, *, start: str | None = None, end: str | None = None
    ) -> list[Metric]:
        return _by_period(self.dimension_query(dimension, start=start, end=end))

    def type_query(self, metric_type: str, *, start=None, end=None) -> Query:
        """Metrics of one type as the index orders them (by period), read as taken."""
        return self.index_query(METRIC_TYPE_INDEX, metric_type, start=start, end=end)

    def dimension_query(self, dimension: str, *, start=None, end=None) -> Query:
        """Metrics of one dimension as the index orders them (by period), read as taken."""
        return self.index_query(DIMENSION_INDEX, dimension, start=start, end=end)


def _in_time_order(messages: Iterable[Message]) -> list[Message]:
    # The index orders by timestamp; messages of the same second keep a stable order.
    return sorted(messages, key=lambda m: (m.timestamp, m.message_id))


def _by_period(metrics: Iterable[Metric]) -> list[Metric]:
    return sorted(metrics, key=lambda m: (m.period, m.subject, m.dimension or ""))


class MetadataReader(_Reader):
    """Reads the global tenants-metadata table."""

    def __init__(self, client, settings: StackSettings, page_size=None):
        super().__init__(client, page_size)
        self.table = metadata_table_spec(settings).name

    def tenant(self, tenant_id: str) -> TenantRecord | None:
        return self._get(self.table, TENANT, {METADATA_LAYOUT.hash_key.name: tenant_id})

    def tenants_by_owner(self, owner_email: str) -> list[TenantRecord]:
        return list(self.owner_query(owner_email))

    def tenants_by_status(self, status: str) -> list[TenantRecord]:
        return list(self.status_query(status))

    def owner_query(self, owner_email: str) -> Query:
        return self.index_query(OWNER_EMAIL_INDEX, owner_email)

    def status_query(self, status: str) -> Query:
        return self.index_query(STATUS_INDEX, status)

    def all_tenants(self) -> list[TenantRecord]:
        """Every registered tenant: one StatusIndex query per lifecycle status (a closed set)."""
        found = [t for status in TenantStatus for t in self.tenants_by_status(status.value)]
        return sorted(found, key=lambda t: t.tenant_id)

    def index_query(self, index: IndexSpec, value: str) -> Query:
        """One partition of an index of the metadata table, as the index orders it."""
        return self._query(self.table, TENANT, (index.hash_key.name, value), index=index)


def frame(records: Iterable[Any], columns: Sequence[str] | None = None):
    """Contract models as a pandas DataFrame (camelCase columns, nested fields flattened)."""
    import pandas as pd

    rows = [record.model_dump(by_alias=True, mode="python") for record in records]
    table = pd.json_normalize(rows) if rows else pd.DataFrame(columns=list(columns or []))
    return table[list(columns)] if columns and rows else table
