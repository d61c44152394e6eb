"""The one definition of every DynamoDB table: names, keys, indexes and settings.

Both the Pulumi component (`tenancy.components`) and the local provisioner
(`tenancy.provisioner`) are generated from the `TableSpec` values built here, and a test keeps
what they produce equal. Key attribute names are the record field names of the data contracts
(see DATA_CONTRACTS.md), so a stored item needs no key translation.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from tenancy.roster import TENANT_ID_PATTERN, Tenant, Tier
from tenancy.settings import PREFIX_SEPARATOR, TABLE_PREFIX_PATTERN, StackSettings

METADATA_TABLE = "tenants-metadata"
# The record field that names a record's tenant: in the metadata table's key, and leading
# every partition key of the pool tables.
TENANT_ID_FIELD = "tenantId"
# Every stored record's idempotency key (`messageId`; `{tenantId}:{subject}:{period}[:{dim}]`):
# unique within a tenant, so it orders a pooled tenant's items in the tenant index.
RECORD_KEY_FIELD = "recordKey"
# A pooled tenant's items are spread over this many partitions of the tenant index
# (`{tenantId}#00` .. `#15`), so that one tenant's writes never pile onto one partition key
# (DynamoDB allows about 1,000 write units a second per partition key, an index's included):
# a tenant ingesting at 16,000 records a second still fits. A whole-tenant read is 16 Queries.
# Changing it re-shards every pooled item: it is part of the stored format (DATA_CONTRACTS.md).
TENANT_SHARDS = 16
TENANT_SHARD_ATTR = "tenantShard"
# Joins a tenant id to a value in a pool table's partition key (`acme-corp-001#msg-0001`).
# No tenant id contains it, so the keys of one tenant never begin with another's prefix, even
# when one id begins the other (`acme#...` is never a key of `acme-corp`).
POOL_KEY_SEPARATOR = "#"
PROJECT_TAG_VALUE = "salestalk"


class KeyType(StrEnum):
    STRING = "S"
    NUMBER = "N"


class Projection(StrEnum):
    ALL = "ALL"
    KEYS_ONLY = "KEYS_ONLY"
    INCLUDE = "INCLUDE"


@dataclass(frozen=True)
class Key:
    """A key attribute and its DynamoDB scalar type."""

    name: str
    type: KeyType = KeyType.STRING


@dataclass(frozen=True)
class IndexSpec:
    name: str
    hash_key: Key
    range_key: Key | None = None
    projection: Projection = Projection.ALL
    non_key_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableLayout:
    """The shape shared by every table of one kind (e.g. every tenant's messages table)."""

    kind: str
    hash_key: Key
    range_key: Key | None = None
    indexes: tuple[IndexSpec, ...] = ()
    # A pooled layout's partition keys, each written `{tenantId}#{field}`: (attribute, field).
    # A siloed layout has none: there the table is the tenant, and keys are the record fields.
    composed: tuple[tuple[str, str], ...] = ()

    @property
    def pooled(self) -> bool:
        return bool(self.composed)

    def composed_names(self) -> tuple[str, ...]:
        """Every attribute a pool layout composes from a record (none in a silo layout)."""
        if not self.composed:
            return ()
        return (*(attribute for attribute, _ in self.composed), TENANT_SHARD_ATTR)

    def index(self, name: str) -> IndexSpec:
        """This layout's index of that name (a pool table's index keeps its silo twin's name)."""
        for index in self.indexes:
            if index.name == name:
                return index
        raise KeyError(f"{self.kind} tables have no index {name!r}")

    def partition_key(
        self, value: str, tenant_id: str, index: IndexSpec | None = None
    ) -> tuple[str, str]:
        """The attribute and value to ask for a record field's value with: the table's
        partition key, or that of the index of `index`'s name."""
        key = (self.index(index.name) if index else self).hash_key
        return key.name, self._stored(key.name, value, tenant_id)

    def key_fields(self) -> tuple[str, ...]:
        """The record fields the primary key is made of (`messageId`; `seriesId`, `period`)."""
        sources = dict(self.composed)
        keys = (self.hash_key, self.range_key)
        return tuple(sources.get(key.name, key.name) for key in keys if key)

    def primary_key(self, fields: Mapping[str, object], tenant_id: str) -> dict[str, object]:
        """The primary key of the item holding a record with these key fields (named as the
        record names them: `messageId`, or `seriesId` and `period`)."""
        sources = dict(self.composed)
        return {
            key.name: self._stored(key.name, fields[sources.get(key.name, key.name)], tenant_id)
            for key in (self.hash_key, self.range_key)
            if key
        }

    def compose(self, item: Mapping[str, object]) -> dict[str, str]:
        """The composed key attributes of an item (none in a silo layout); an index's key is
        left out when the item lacks its field, so a sparse index stays sparse. In a pool
        layout the tenant index's shard comes with the record key."""
        if not self.composed:
            return {}
        tenant_id = item[TENANT_ID_FIELD]
        composed = {
            attribute: f"{tenant_id}{POOL_KEY_SEPARATOR}{item[field]}"
            for attribute, field in self.composed
            if field in item
        }
        if RECORD_KEY_FIELD in item:
            composed[TENANT_SHARD_ATTR] = tenant_shard(str(tenant_id), str(item[RECORD_KEY_FIELD]))
        return composed

    def _stored(self, attribute: str, value, tenant_id: str):
        if attribute in dict(self.composed):
            return f"{tenant_id}{POOL_KEY_SEPARATOR}{value}"
        return value

    def attributes(self) -> dict[str, KeyType]:
        """Every key attribute of the table and its indexes, declared once with one type."""
        declared: dict[str, KeyType] = {}
        keys = [self.hash_key, self.range_key]
        for index in self.indexes:
            keys += [index.hash_key, index.range_key]
        for key in filter(None, keys):
            if declared.setdefault(key.name, key.type) != key.type:
                raise ValueError(f"{self.kind}: attribute {key.name!r} declared with two types")
        return declared


# --- The layouts. Access patterns they serve are listed in DATA_CONTRACTS.md. ---

# Each index is named once, here; readers use these objects, never their names as text.
OWNER_EMAIL_INDEX = IndexSpec("OwnerEmailIndex", Key("ownerEmail"), Key(TENANT_ID_FIELD))
STATUS_INDEX = IndexSpec("StatusIndex", Key("status"), Key(TENANT_ID_FIELD))
SESSION_INDEX = IndexSpec("SessionIndex", Key("sessionId"), Key("timestamp", KeyType.NUMBER))
SENDER_INDEX = IndexSpec("SenderIndex", Key("senderId"), Key("timestamp", KeyType.NUMBER))
METRIC_TYPE_INDEX = IndexSpec("MetricTypeIndex", Key("metricType"), Key("period"))
DIMENSION_INDEX = IndexSpec("DimensionIndex", Key("dimension"), Key("period"))
# A pooled tenant's own access path to all of its items (pool tables only: in the silo the
# table is the tenant). Keys only: moves, exports and erasure read the items themselves by
# key, strongly consistent, so the index costs one small write per item (DATA_CONTRACTS.md).
TENANT_INDEX = IndexSpec(
    "TenantIndex",
    Key(TENANT_SHARD_ATTR),
    Key(RECORD_KEY_FIELD),
    projection=Projection.KEYS_ONLY,
)

METADATA_LAYOUT = TableLayout(
    kind="metadata",
    hash_key=Key(TENANT_ID_FIELD),
    indexes=(OWNER_EMAIL_INDEX, STATUS_INDEX),
)

MESSAGES_LAYOUT = TableLayout(
    kind="messages",
    hash_key=Key("messageId"),
    indexes=(SESSION_INDEX, SENDER_INDEX),
)

METRICS_LAYOUT = TableLayout(
    kind="metrics",
    # seriesId is `{subject}` or `{subject}#{dimension}`; with the period as sort key, the
    # primary key is the metric idempotency key `{tenantId}:{subject}:{period}[:{dimension}]`
    # (the tenant is the table).
    hash_key=Key("seriesId"),
    range_key=Key("period"),
    indexes=(METRIC_TYPE_INDEX, DIMENSION_INDEX),
)

TENANT_LAYOUTS = (MESSAGES_LAYOUT, METRICS_LAYOUT)


def pooled_layout(layout: TableLayout) -> TableLayout:
    """A silo layout made shareable: every partition key, of the table and of each index,
    becomes `tenant{Field}` = `{tenantId}#{field}`; sort keys and index names stay. A tenant's
    queries then touch only its own items, and `dynamodb:LeadingKeys` can guard the table and
    every index with one prefix (tenancy/access_policy.py)."""
    composed: dict[str, str] = {}

    def lead(key: Key) -> Key:
        if key.type is not KeyType.STRING:
            raise ValueError(f"{layout.kind}: a number partition key cannot lead with a tenant")
        name = f"tenant{key.name[0].upper()}{key.name[1:]}"
        composed[name] = key.name
        return Key(name)

    indexes = tuple(
        dataclasses.replace(index, hash_key=lead(index.hash_key)) for index in layout.indexes
    )
    return dataclasses.replace(
        layout,
        hash_key=lead(layout.hash_key),
        indexes=(*indexes, TENANT_INDEX),
        composed=tuple(composed.items()),
    )


def tenant_shard(tenant_id: str, record_key: str) -> str:
    """The tenant index partition of a pooled record: `{tenantId}#{nn}`, nn from a hash of
    its record key (stable across processes and versions, unlike Python's `hash`)."""
    digest = hashlib.blake2b(record_key.encode(), digest_size=4).digest()
    return f"{tenant_id}{POOL_KEY_SEPARATOR}{int.from_bytes(digest) % TENANT_SHARDS:02d}"


def tenant_shards(tenant_id: str) -> list[str]:
    """Every tenant index partition of a pooled tenant: read all of them for all its items."""
    return [f"{tenant_id}{POOL_KEY_SEPARATOR}{n:02d}" for n in range(TENANT_SHARDS)]


POOLED_LAYOUTS = {layout.kind: pooled_layout(layout) for layout in TENANT_LAYOUTS}


@dataclass(frozen=True)
class TableSpec:
    """One concrete table: a layout given its name, tags and protection."""

    logical_name: str  # Pulumi resource name: never changes for a tenant, whatever the prefix
    name: str  # physical DynamoDB table name
    layout: TableLayout
    tags: Mapping[str, str]
    deletion_protection: bool
    billing_mode: str = "PAY_PER_REQUEST"
    server_side_encryption: bool = True
    point_in_time_recovery: bool = True

    @property
    def hash_key(self) -> Key:
        return self.layout.hash_key

    @property
    def range_key(self) -> Key | None:
        return self.layout.range_key

    @property
    def indexes(self) -> tuple[IndexSpec, ...]:
        return self.layout.indexes

    def shape(self) -> TableShape:
        """What this definition looks like once applied, for comparison with a live table."""
        return TableShape(
            name=self.name,
            hash_key=self.hash_key.name,
            range_key=self.range_key.name if self.range_key else None,
            attributes={name: str(kind) for name, kind in self.layout.attributes().items()},
            indexes={
                index.name: IndexShape(
                    hash_key=index.hash_key.name,
                    range_key=index.range_key.name if index.range_key else None,
                    projection=str(index.projection),
                    non_key_attributes=tuple(sorted(index.non_key_attributes)),
                )
                for index in self.indexes
            },
            billing_mode=self.billing_mode,
            server_side_encryption=self.server_side_encryption,
            point_in_time_recovery=self.point_in_time_recovery,
            deletion_protection=self.deletion_protection,
            tags=dict(self.tags),
        )


# The settings of a table that an endpoint may lack.
UNSUPPORTABLE = (
    "server_side_encryption",
    "point_in_time_recovery",
    "deletion_protection",
    "tags",
)


def describe_keys(hash_key: str, range_key: str | None) -> str:
    return hash_key + (f", {range_key}" if range_key else "")


@dataclass(frozen=True)
class IndexShape:
    hash_key: str
    range_key: str | None
    projection: str
    non_key_attributes: tuple[str, ...] = ()

    @property
    def keys(self) -> str:
        """The key as people read it: `tenantId, period`, or `sessionId` alone."""
        return describe_keys(self.hash_key, self.range_key)

    def describe(self) -> str:
        return f"({self.keys}) {self.projection}"


# DynamoDB's billing modes as people say them (the console's and the notebooks' words).
BILLING_MODES = {"PAY_PER_REQUEST": "on-demand", "PROVISIONED": "provisioned"}


def billing_text(mode: str) -> str:
    return BILLING_MODES.get(mode, mode)


@dataclass(frozen=True)
class TableShape:
    """A table reduced to what the platform manages, whoever read it (spec, Pulumi, boto3).

    Comparing shapes is how drift is found and how the parity test proves that the Pulumi
    program and the local provisioner build the same tables.
    """

    name: str
    hash_key: str
    range_key: str | None
    attributes: Mapping[str, str]
    indexes: Mapping[str, IndexShape]
    billing_mode: str
    # None: the endpoint does not support (or report) the feature, so there is nothing to
    # compare or set (Amazon's DynamoDB Local has no PITR or tags and reports no encryption).
    server_side_encryption: bool | None
    point_in_time_recovery: bool | None
    deletion_protection: bool | None
    tags: Mapping[str, str] | None
    arn: str | None = dataclasses.field(default=None, compare=False)  # a live table's only

    @property
    def keys(self) -> str:
        return describe_keys(self.hash_key, self.range_key)

    def describe_indexes(self, separator: str = ", ") -> str:
        """Every index, by name: `BySession(sessionId, timestamp) ALL, ...`."""
        return separator.join(
            f"{name}{index.describe()}" for name, index in sorted(self.indexes.items())
        )

    def matches(self, wanted: TableShape) -> bool:
        """True when this (live) table is what `wanted` defines, on what the endpoint can
        show. Tags the platform does not manage (a cost-centre tag) are not drift."""
        wanted = wanted.as_seen_by(self.unsupported())
        if self.tags is None:
            return self == wanted
        managed = {key: value for key, value in self.tags.items() if key in (wanted.tags or {})}
        return dataclasses.replace(self, tags=managed) == wanted

    def unsupported(self) -> frozenset[str]:
        """The settings this shape has no value for (its endpoint lacks them)."""
        return frozenset(name for name in UNSUPPORTABLE if getattr(self, name) is None)

    def as_seen_by(self, unsupported: frozenset[str]) -> TableShape:
        """This shape without the settings an endpoint cannot show."""
        return dataclasses.replace(self, **dict.fromkeys(unsupported))


TENANT_TABLE_PREFIX = "tenant-"
POOL_TABLE_PREFIX = "pool-"


def table_name(settings: StackSettings, base: str) -> str:
    """The physical name: the base name, behind `{tablePrefix}.` when the stack has a prefix.

    The separator is what keeps names of different stacks apart: neither a prefix nor a base
    name may contain it, so a name splits back into exactly one (prefix, base) and two stacks
    with different prefixes can never name the same table (`parse_table_name` is the proof).
    """
    prefix = settings.table_prefix
    return f"{prefix}{PREFIX_SEPARATOR}{base}" if prefix else base


def tenant_table_base(tenant_id: str, layout: TableLayout) -> str:
    """`tenant-{tenantId}-messages` / `tenant-{tenantId}-metrics`, as in the seed design."""
    return f"{TENANT_TABLE_PREFIX}{tenant_id}-{layout.kind}"


def pool_table_base(layout: TableLayout) -> str:
    """`pool-messages` / `pool-metrics`: the tables every pooled tenant of a stack shares."""
    return f"{POOL_TABLE_PREFIX}{layout.kind}"


@dataclass(frozen=True)
class TableName:
    """What a physical table name says: its stack's prefix, and whose table of which kind."""

    prefix: str
    kind: str
    tenant_id: str | None = None  # None for a shared table (metadata, pool)
    pooled: bool = False


def parse_table_name(name: str) -> TableName | None:
    """The inverse of the naming rule, or None for a name this platform never makes.

    Tenant ids cannot contain the separator and every kind is a fixed suffix, so the split is
    unique; a property-based test checks `parse_table_name(name(x)) == x` for generated
    prefixes and ids, which is what makes the naming injective.
    """
    prefix, separator, base = name.rpartition(PREFIX_SEPARATOR)
    if separator and not (prefix and re.fullmatch(TABLE_PREFIX_PATTERN, prefix)):
        return None
    if base == METADATA_TABLE:
        return TableName(prefix, METADATA_LAYOUT.kind)
    for layout in TENANT_LAYOUTS:
        if base == pool_table_base(layout):
            return TableName(prefix, layout.kind, pooled=True)
    for layout in TENANT_LAYOUTS:
        suffix = f"-{layout.kind}"
        if base.startswith(TENANT_TABLE_PREFIX) and base.endswith(suffix):
            tenant_id = base[len(TENANT_TABLE_PREFIX) : -len(suffix)]
            if re.fullmatch(TENANT_ID_PATTERN, tenant_id):
                return TableName(prefix, layout.kind, tenant_id)
    return None


PROJECT_TAG = "project"
STACK_TAG = "stack"
TENANT_TAG = "tenant-id"
# The tags that say whose a table is: a table whose tags name another owner is never adopted.
OWNER_TAGS = (PROJECT_TAG, STACK_TAG, TENANT_TAG)


def base_tags(settings: StackSettings) -> dict[str, str]:
    return {PROJECT_TAG: PROJECT_TAG_VALUE, STACK_TAG: settings.stack}


def foreign_owner(wanted: TableShape, live: TableShape) -> dict[str, str] | None:
    """The owner tags of a live table that say it belongs to another project, stack or
    tenant than the definition that names it (None when they agree, or say nothing)."""
    if live.tags is None:  # an endpoint without tags cannot say (provisioning notes it)
        return None
    theirs = {tag: live.tags[tag] for tag in OWNER_TAGS if tag in live.tags}
    ours = {tag: (wanted.tags or {}).get(tag) for tag in OWNER_TAGS}
    if any(ours[tag] != value for tag, value in theirs.items()):
        return theirs
    return None


def metadata_table_spec(settings: StackSettings) -> TableSpec:
    return TableSpec(
        logical_name=METADATA_TABLE,
        name=table_name(settings, METADATA_TABLE),
        layout=METADATA_LAYOUT,
        tags={**base_tags(settings), "scope": "global"},
        deletion_protection=settings.protect_data,
    )


def tenant_table_specs(settings: StackSettings, tenant: Tenant | str) -> dict[str, TableSpec]:
    """A tenant's own (silo) tables keyed by kind (`messages`, `metrics`). A tenant id alone
    names the tables of a tenant no longer in the roster (being erased): tags without a plan."""
    tenant_id = tenant if isinstance(tenant, str) else tenant.tenant_id
    tags = {**base_tags(settings), "scope": "tenant", TENANT_TAG: tenant_id}
    if not isinstance(tenant, str):
        tags["plan"] = str(tenant.plan)
    specs = {}
    for layout in TENANT_LAYOUTS:
        base = tenant_table_base(tenant_id, layout)
        specs[layout.kind] = TableSpec(
            logical_name=base,
            name=table_name(settings, base),
            layout=layout,
            tags=tags,
            deletion_protection=settings.protect_data,
        )
    return specs


def tenant_role_tags(settings: StackSettings, tenant: Tenant) -> dict[str, str]:
    """The tags of a tenant's data-access role: its tables' owner tags, and its tier."""
    tags = next(iter(tenant_table_specs(settings, tenant).values())).tags
    return {**tags, "tier": str(settings.tier(tenant))}


def pool_table_specs(settings: StackSettings) -> dict[str, TableSpec]:
    """The stack's pool tables keyed by kind. Every stack has them, pooled tenants or not, so
    that the last tenant moving out of the pool never takes the tables (and the copy a move
    leaves until its clean-up) away with it."""
    specs = {}
    for kind, layout in POOLED_LAYOUTS.items():
        base = pool_table_base(layout)
        specs[kind] = TableSpec(
            logical_name=base,
            name=table_name(settings, base),
            layout=layout,
            tags={**base_tags(settings), "scope": "pool"},
            deletion_protection=settings.protect_data,
        )
    return specs


@dataclass(frozen=True)
class TenantTable:
    """Where one tenant's records of one kind live: a table of its own or a pool table, and
    how its keys are written there (`TableLayout.partition_key`, `primary_key`)."""

    spec: TableSpec
    tenant_id: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def layout(self) -> TableLayout:
        return self.spec.layout


def tier_tables(
    settings: StackSettings, tenant: Tenant | str, tier: Tier
) -> dict[str, TenantTable]:
    """A tenant's tables in one tier, keyed by kind: its own, or the stack's pool tables (a
    tenant id alone for a tenant no longer in the roster)."""
    tenant_id = tenant if isinstance(tenant, str) else tenant.tenant_id
    specs = (
        pool_table_specs(settings) if tier is Tier.POOL else tenant_table_specs(settings, tenant)
    )
    return {kind: TenantTable(spec, tenant_id) for kind, spec in specs.items()}


def tenant_tables(settings: StackSettings, tenant: Tenant) -> dict[str, TenantTable]:
    """The tables a tenant's data is read from and written to: those of its tier."""
    return tier_tables(settings, tenant, settings.tier(tenant))


def table_count(settings: StackSettings) -> int:
    """How many tables a stack has: metadata, the pool's, and each siloed tenant's (a pooled
    tenant adds none; a tenant moving to or from the silo tier has its tables)."""
    return 1 + len(POOLED_LAYOUTS) + len(TENANT_LAYOUTS) * len(settings.siloed())


def all_table_specs(settings: StackSettings) -> list[TableSpec]:
    """Every table of a stack: the metadata table, the pool tables, then each siloed tenant's
    tables in roster order."""
    specs = [metadata_table_spec(settings), *pool_table_specs(settings).values()]
    for tenant in settings.siloed():
        specs.extend(tenant_table_specs(settings, tenant).values())
    return specs
