"""The table definitions: names, limits, and the documentation that explains them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tenancy.roster import TENANT_ID_MAX_LENGTH, Tenant
from tenancy.settings import StackSettings
from tenancy.tables import (
    MESSAGES_LAYOUT,
    METADATA_LAYOUT,
    METRICS_LAYOUT,
    IndexSpec,
    Key,
    KeyType,
    TableLayout,
    all_table_specs,
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
        "tenant-acme-corp-001-messages",
        "tenant-acme-corp-001-metrics",
        "tenant-techstart-inc-002-messages",
        "tenant-techstart-inc-002-metrics",
    ]
    prefixed = [spec.name for spec in all_table_specs(settings("qa."))]
    assert prefixed == [f"qa.{name}" for name in names]
    # Resource names never carry the prefix: changing it must not re-create resources.
    assert [s.logical_name for s in all_table_specs(settings("qa."))] == names


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


@pytest.mark.parametrize("layout", [METADATA_LAYOUT, MESSAGES_LAYOUT, METRICS_LAYOUT])
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
