"""The table definitions: names, limits, and the documentation that explains them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenancy.roster import TENANT_ID_MAX_LENGTH, TENANT_ID_MIN_LENGTH, TENANT_ID_PATTERN, Tenant
from tenancy.settings import TABLE_PREFIX_MAX_LENGTH, TABLE_PREFIX_PATTERN, StackSettings
from tenancy.tables import (
    MESSAGES_LAYOUT,
    METADATA_LAYOUT,
    METRICS_LAYOUT,
    POOLED_LAYOUTS,
    IndexSpec,
    Key,
    KeyType,
    TableLayout,
    TableName,
    all_table_specs,
    metadata_table_spec,
    parse_table_name,
    pool_table_specs,
    tenant_table_specs,
)
from tests.support.stacks import local_roster

DOC = (Path(__file__).resolve().parents[2] / "DATA_CONTRACTS.md").read_text()
LONGEST_ID = "t" * TENANT_ID_MAX_LENGTH
LONGEST_PREFIX = "p" * 40


def settings(prefix: str = "", tenants=None) -> StackSettings:
    return StackSettings.from_values(
        "dev", {"tenants": tenants or local_roster(), "tablePrefix": prefix}
    )


def test_names_follow_the_seed_patterns():
    names = [spec.name for spec in all_table_specs(settings())]
    assert names == [
        "tenants-metadata",
        "pool-messages",
        "pool-metrics",
        "tenant-acme-corp-001-messages",
        "tenant-acme-corp-001-metrics",
        "tenant-techstart-inc-002-messages",
        "tenant-techstart-inc-002-metrics",
    ]
    prefixed = [spec.name for spec in all_table_specs(settings("qa"))]
    assert prefixed == [f"qa.{name}" for name in names]
    # Resource names never carry the prefix: changing it must not re-create resources.
    assert [s.logical_name for s in all_table_specs(settings("qa"))] == names


def test_longest_names_fit_dynamodb_and_iam_limits():
    tenant = Tenant.model_validate({**local_roster()[0], "tenantId": LONGEST_ID})
    specs = tenant_table_specs(settings(LONGEST_PREFIX, [tenant.to_config()]), tenant)
    for spec in specs.values():
        assert re.fullmatch(r"[A-Za-z0-9_.-]{3,255}", spec.name)
    # Pulumi auto-names the role `<resource name>-<7 random chars>`; IAM allows 64.
    assert len(f"{LONGEST_ID}-data-access") + 8 <= 64


def test_an_attribute_cannot_be_declared_with_two_types():
    layout = TableLayout(
        kind="bad",
        hash_key=Key("id"),
        indexes=(IndexSpec("ByTime", Key("id", KeyType.NUMBER)),),
    )
    with pytest.raises(ValueError, match="attribute 'id' declared with two types"):
        layout.attributes()


@pytest.mark.parametrize(
    "layout",
    [METADATA_LAYOUT, MESSAGES_LAYOUT, METRICS_LAYOUT, *POOLED_LAYOUTS.values()],
    ids=["metadata", "messages", "metrics", "pool-messages", "pool-metrics"],
)
def test_data_contracts_document_every_key_and_index(layout):
    assert f"| partition | `{layout.hash_key.name}` | {layout.hash_key.type} |" in DOC
    if layout.range_key:
        assert f"| sort | `{layout.range_key.name}` | {layout.range_key.type} |" in DOC
    for index in layout.indexes:
        sort = f"`{index.range_key.name}`"
        if index.range_key.type is KeyType.NUMBER:
            sort += f" ({index.range_key.type})"
        row = f"| `{index.name}` | `{index.hash_key.name}` | {sort} | {index.projection} |"
        assert row in DOC, row


# --- Names of different stacks never meet (the naming rule is injective) ---------------------

PREFIXES = st.from_regex(TABLE_PREFIX_PATTERN, fullmatch=True).filter(
    lambda p: len(p) <= TABLE_PREFIX_MAX_LENGTH
)
TENANT_IDS = st.from_regex(TENANT_ID_PATTERN, fullmatch=True).filter(
    lambda t: TENANT_ID_MIN_LENGTH <= len(t) <= TENANT_ID_MAX_LENGTH
)


def _tenant(tenant_id: str) -> Tenant:
    return Tenant.model_validate({**local_roster()[0], "tenantId": tenant_id})


def _names(prefix: str, tenant_id: str) -> dict[str, TableName]:
    """Every table name one tenant of one stack gets, with what it should parse back to."""
    stack = settings(prefix, [_tenant(tenant_id).to_config()])
    names = {metadata_table_spec(stack).name: TableName(prefix, METADATA_LAYOUT.kind)}
    for kind, spec in pool_table_specs(stack).items():
        names[spec.name] = TableName(prefix, kind, pooled=True)
    for kind, spec in tenant_table_specs(stack, _tenant(tenant_id)).items():
        names[spec.name] = TableName(prefix, kind, tenant_id)
    return names


@pytest.mark.slow
@given(prefix=PREFIXES, tenant_id=TENANT_IDS)
def test_every_table_name_parses_back_to_its_stack_and_tenant(prefix, tenant_id):
    # A left inverse exists, so no two (prefix, tenant, kind) can share a name.
    for name, meaning in _names(prefix, tenant_id).items():
        assert parse_table_name(name) == meaning
        assert re.fullmatch(r"[A-Za-z0-9_.-]{3,255}", name)


@pytest.mark.slow
@given(first=st.tuples(PREFIXES, TENANT_IDS), second=st.tuples(PREFIXES, TENANT_IDS))
def test_two_stacks_never_name_the_same_table_unless_prefix_and_tenant_agree(first, second):
    shared = set(_names(*first)) & set(_names(*second))
    if first[0] != second[0]:
        assert not shared
    elif first[1] != second[1]:
        # only the stack's shared tables: metadata and pool
        assert all(parse_table_name(name).tenant_id is None for name in shared)
        assert len(shared) == 1 + len(POOLED_LAYOUTS)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("s1", "tenant-acme"), ("s1-tenant", "acme")),  # the collision the old rule allowed
        (("", "tenant-acme"), ("tenant", "acme")),
        (("a", "bc-messages"), ("ab", "c-messages")),
        (("qa", "x-metrics"), ("qa-x", "metrics")),
    ],
)
def test_prefixes_that_once_collided_now_name_different_tables(first, second):
    assert not set(_names(*first)) & set(_names(*second))


@pytest.mark.parametrize(
    "name",
    ["tenant--messages", ".tenant-acme-messages", "a.b.tenant-acme-messages", "tenant-acme-logs"],
)
def test_names_the_platform_never_makes_parse_to_nothing(name):
    assert parse_table_name(name) is None
