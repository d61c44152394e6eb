"""The pool tables' tenant index: a pooled tenant's items spread over its own partitions, and
items stored before the index existed given their shard before it is added."""

from __future__ import annotations

import dataclasses
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from ingestion.lifecycle.tenant_data import TenantData
from ingestion.reading.ownership import Refusals
from ingestion.records.items import MESSAGE, METRIC, serialize
from ingestion.records.sources import SourceRecord
from ingestion.writing.writer import candidate_for
from tenancy.provisioner import Provisioner
from tenancy.roster import TENANT_ID_PATTERN
from tenancy.settings import StackSettings
from tenancy.tables import (
    POOLED_LAYOUTS,
    TENANT_INDEX,
    TENANT_SHARD_ATTR,
    TENANT_SHARDS,
    TenantTable,
    pool_table_specs,
    tenant_shard,
    tenant_shards,
)
from tests.ingestion.conftest import make_message, make_metric
from tests.support.stacks import local_roster

TENANT_IDS = st.from_regex(TENANT_ID_PATTERN, fullmatch=True).filter(lambda t: len(t) >= 3)


def test_every_pool_layout_has_the_tenant_index_and_no_silo_layout_does():
    from tenancy.tables import TENANT_LAYOUTS

    for layout in POOLED_LAYOUTS.values():
        assert layout.indexes[-1] == TENANT_INDEX
        assert TENANT_SHARD_ATTR in layout.composed_names()
    for layout in TENANT_LAYOUTS:
        assert TENANT_INDEX not in layout.indexes and layout.composed_names() == ()


@given(TENANT_IDS, st.text(min_size=1, max_size=40))
def test_a_shard_is_one_of_the_tenants_own_partitions(tenant_id, record_key):
    shard = tenant_shard(tenant_id, record_key)
    assert shard in tenant_shards(tenant_id)
    assert shard.startswith(f"{tenant_id}#")  # within the tenant's LeadingKeys pattern


def test_one_tenants_records_spread_over_every_shard():
    """A million-message tenant must not pile onto one partition key: 10,000 record keys
    fill all 16 shards, none with more than twice its share."""
    counts = Counter(tenant_shard("acme", f"msg-{n:07d}") for n in range(10_000))
    assert len(counts) == TENANT_SHARDS
    assert max(counts.values()) < 2 * 10_000 / TENANT_SHARDS


def _settings():
    roster = [{**local_roster()[0], "tenantId": "acme", "plan": "trial"}]
    return StackSettings.from_values("local", {"tenants": roster, "protectData": False})


def test_items_stored_before_the_index_existed_are_given_their_shard(dynamodb):
    settings = _settings()
    specs = pool_table_specs(settings)
    old = {
        kind: dataclasses.replace(
            spec, layout=dataclasses.replace(spec.layout, indexes=spec.layout.indexes[:-1])
        )
        for kind, spec in specs.items()
    }
    Provisioner(dynamodb).apply(old.values())
    for kind, records in ((METRIC, [make_metric(n, "acme") for n in range(30)]),
                          (MESSAGE, [make_message(n, "acme") for n in range(20)])):  # fmt: skip
        pooled = kind.stored_in(POOLED_LAYOUTS[kind.layout.kind])
        for record in records:
            model = kind.model.model_validate(record)
            item = candidate_for(pooled, SourceRecord("t", data=record), model, "x", "y").item
            del item[TENANT_SHARD_ATTR]  # as the version before the index wrote it
            dynamodb.put_item(TableName=old[kind.layout.kind].name, Item=serialize(item))

    results = {r.name: r for r in Provisioner(dynamodb).apply(specs.values())}
    assert "index TenantIndex created" in results["pool-metrics"].changes
    assert "30 stored items given their tenantShard" in results["pool-metrics"].changes
    assert "20 stored items given their tenantShard" in results["pool-messages"].changes
    for kind, count in ((METRIC, 30), (MESSAGE, 20)):
        table = TenantTable(specs[kind.layout.kind], "acme")
        data = TenantData.of(dynamodb, table, kind, Refusals("acme"))
        assert sum(1 for _ in data.records()) == count
    again = Provisioner(dynamodb).apply(specs.values())
    assert all(not r.changes for r in again)
