"""Two pooled tenants whose ids begin one another and whose records share every key: each
writes, re-writes and reads only its own items, in every write mode, and an item forged under
another tenant's keys is refused, never returned."""

from __future__ import annotations

import pytest

from ingestion.reading.queries import TenantReader
from ingestion.records.items import MESSAGE, METRIC, serialize
from ingestion.writing.lease import lease_key
from ingestion.writing.strategies import WriteMode
from ingestion.writing.writer import TenantWriter
from tenancy.provisioner import Provisioner
from tenancy.settings import StackSettings
from tenancy.tables import POOLED_LAYOUTS, all_table_specs
from tests.ingestion.conftest import all_items, as_source, make_message, make_metric
from tests.support.stacks import local_roster

SHORT, LONG = "acme", "acme-corp"  # one id begins the other
TENANTS = (SHORT, LONG)


@pytest.fixture
def pool_settings():
    roster = [{**local_roster()[0], "tenantId": t, "plan": "trial"} for t in TENANTS]
    return StackSettings.from_values("local", {"tenants": roster, "protectData": False})


@pytest.fixture
def pool(dynamodb, pool_settings):
    Provisioner(dynamodb).apply(all_table_specs(pool_settings))
    return dynamodb


def messages(tenant_id: str) -> list:
    """The same ids, sessions and senders for both tenants; only content and tenant differ."""
    return [make_message(n, tenant_id, content=f"{tenant_id} says {n}") for n in range(25)]


def metrics(tenant_id: str) -> list:
    return [make_metric(n, tenant_id, value=n + (1000 if tenant_id == LONG else 0))
            for n in range(30)]  # fmt: skip


@pytest.mark.parametrize("mode", list(WriteMode), ids=str)
def test_colliding_tenants_each_write_and_read_only_their_own(pool, pool_settings, mode):
    for tenant_id in TENANTS:
        for kind, records in ((MESSAGE, messages(tenant_id)), (METRIC, metrics(tenant_id))):
            writer = TenantWriter(pool, pool_settings, tenant_id, kind, mode=mode)
            assert writer.table_name == f"pool-{kind.plural}"
            report = writer.ingest(as_source(records))
            assert (report.written, report.rejected) == (len(records), 0), report
    assert len(all_items(pool, "pool-messages")) == 50
    assert len(all_items(pool, "pool-metrics")) == 60

    for tenant_id in TENANTS:
        read = TenantReader(pool, pool_settings, tenant_id, page_size=3)
        session = read.session_messages("sess-00000")
        assert [m.content for m in session] == [f"{tenant_id} says {n}" for n in range(10)]
        assert {m.tenant_id for m in read.sender_messages("user-3")} == {tenant_id}
        assert read.message("msg-000007").content == f"{tenant_id} says 7"
        every = read.all_metrics()
        assert len(every) == 30 and {m.tenant_id for m in every} == {tenant_id}
        series = read.metric_series("kpi_0", dimension="shard:s0")
        assert [m.value for m in series] == [m["value"] for m in metrics(tenant_id)[:12]]
        assert read.metric(f"{tenant_id}:kpi_0:2010-01:shard:s0").value == series[0].value
        assert {m.tenant_id for m in read.metrics_by_dimension("shard:s1")} == {tenant_id}
        assert set(read.series_catalogue()) == {"kpi_0"}


def test_a_second_ingest_writes_nothing_in_the_pool(pool, pool_settings):
    for _ in range(2):
        reports = [TenantWriter(pool, pool_settings, t, MESSAGE).ingest(as_source(messages(t)))
                   for t in TENANTS]  # fmt: skip
    assert [(r.written, r.duplicates) for r in reports] == [(0, 25), (0, 25)]


def test_pooled_items_carry_keys_that_lead_with_their_tenant(pool, pool_settings):
    TenantWriter(pool, pool_settings, LONG, METRIC).ingest(as_source(metrics(LONG)[:1]))
    (item,) = all_items(pool, "pool-metrics")
    assert item["tenantSeriesId"] == {"S": "acme-corp#kpi_0#shard:s0"}
    assert item["tenantMetricType"] == {"S": "acme-corp#operational"}
    assert item["tenantDimension"] == {"S": "acme-corp#shard:s0"}
    read = TenantReader(pool, pool_settings, LONG).all_metrics()
    assert "tenantSeriesId" not in read[0].model_dump(by_alias=True)  # keys are bookkeeping


def test_each_pooled_tenant_has_its_own_writer_lease():
    pooled = METRIC.stored_in(POOLED_LAYOUTS["metrics"])
    assert lease_key(pooled, SHORT) != lease_key(pooled, LONG)
    assert lease_key(pooled, SHORT)["tenantSeriesId"].startswith(f"{SHORT}#")


def test_an_item_forged_under_another_tenants_keys_is_skipped(pool, pool_settings):
    """IAM lets `acme` write only keys that lead with `acme#`; it cannot stop the item's
    fields and index keys from naming `acme-corp`. The reader of `acme-corp` meets such an
    item on its index and refuses it: its primary key is not `acme-corp`'s."""
    TenantWriter(pool, pool_settings, LONG, MESSAGE).ingest(as_source(messages(LONG)[:3]))
    forged = {
        **make_message(1, LONG, content="forged", classification=None),
        "tenantMessageId": "acme#msg-000001",  # all `acme` may write
        "tenantSessionId": "acme-corp#sess-00000",
        "tenantSenderId": "acme-corp#user-1",
    }
    pool.put_item(TableName="pool-messages", Item=serialize(forged))
    victim = TenantReader(pool, pool_settings, LONG)
    assert [m.message_id for m in victim.session_messages("sess-00000")] == [
        "msg-000000", "msg-000001", "msg-000002"
    ]  # fmt: skip
    assert "keys do not lead with the tenant id" in victim.refused.summary()
    owner = TenantReader(pool, pool_settings, SHORT)
    assert owner.message("msg-000001") is None
    assert "it names tenant 'acme-corp'" in owner.refused.summary()
