"""Every access pattern returns the seeded items, in order, across pages, without a Scan."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ingestion.lifecycle.seeding import seed
from ingestion.reading.queries import CrossTenantAccessError, MetadataReader, TenantReader, frame
from ingestion.records.items import METRIC
from ingestion.writing.writer import TenantWriter
from tenancy.roster import Tier
from tenancy.stack_file import StackFile
from tests.ingestion.conftest import ACME, SEED_DIR, TECHSTART, as_source, make_metric
from tests.support.stacks import in_tier


@pytest.fixture(params=list(Tier), ids=str)
def settings(request):
    """The local stack with its tenants siloed, then pooled: every read is the same API."""
    return in_tier(StackFile.load("local").settings(), request.param)


@pytest.fixture
def seeded(tables, settings):
    seed(tables, settings, SEED_DIR)
    operations: list[str] = []
    tables.meta.events.register(
        "before-call.dynamodb.*", lambda model, **kwargs: operations.append(model.name)
    )
    tables.operations = operations
    return tables


@pytest.fixture(params=[None, 1], ids=["default-pages", "one-item-pages"])
def page_size(request):
    return request.param


def reader(client, settings, page_size, tenant=ACME):
    return TenantReader(client, settings, tenant, page_size=page_size)


def test_one_message_by_id(seeded, settings):
    message = reader(seeded, settings, None).message("msg-acme-0002")
    assert message.session_id == "sess-acme-2026-01-12-a"
    assert message.classification.confidence == Decimal("0.91")
    assert [r.source_id for r in message.references][:1] == ["acme-corp-001:revenue:2025-Q2"]
    assert reader(seeded, settings, None).message("msg-ts-0001") is None  # other tenant's id


def test_a_sessions_messages_in_time_order(seeded, settings, page_size):
    messages = reader(seeded, settings, page_size).session_messages("sess-acme-2026-01-12-a")
    assert [m.message_id for m in messages] == ["msg-acme-0001", "msg-acme-0002", "msg-acme-0003"]
    assert [m.timestamp for m in messages] == sorted(m.timestamp for m in messages)


def test_a_senders_messages(seeded, settings, page_size):
    messages = reader(seeded, settings, page_size, TECHSTART).sender_messages("user-akoch")
    assert [m.message_id for m in messages] == ["msg-ts-0001", "msg-ts-0003"]


def test_a_metric_series_over_a_period_range(seeded, settings, page_size):
    read = reader(seeded, settings, page_size)
    series = read.metric_series("revenue", start="2025-Q2", end="2025-Q4")
    assert [(m.period, m.value) for m in series] == [
        ("2025-Q2", Decimal("12500000")),
        ("2025-Q3", Decimal("13200000")),
        ("2025-Q4", Decimal("14100000")),
    ]
    assert [m.period for m in read.metric_series("margin", start="2025-Q3")] == [
        "2025-Q3",
        "2025-Q4",
    ]
    assert [m.value for m in read.metric_series("margin", end="2025-Q2")] == [Decimal("32.5")]
    regional = read.metric_series("customers", dimension="region:canada")
    assert [(m.period, m.value) for m in regional] == [("2025-Q4", Decimal("95"))]


def test_a_period_range_keeps_its_granularity(tables, settings, page_size):
    records = [
        make_metric(0, subject="revenue", dimension=None, period=period)
        for period in ("2025", "2025-Q1", "2025-Q2", "2025-06", "2025-06-30")
    ]
    TenantWriter(tables, settings, ACME, METRIC).ingest(as_source(records))
    read = reader(tables, settings, page_size)
    quarters = read.metric_series("revenue", start="2025-Q1", end="2025-Q4")
    assert [m.period for m in quarters] == ["2025-Q1", "2025-Q2"]
    assert len(read.metric_series("revenue")) == 5
    with pytest.raises(ValueError, match="mixes granularities"):
        read.metric_series("revenue", start="2025", end="2025-Q4")


def test_metrics_by_type(seeded, settings, page_size):
    found = reader(seeded, settings, page_size, TECHSTART).metrics_by_type("customer")
    assert [(m.period, m.subject, m.dimension) for m in found] == [
        ("2025-Q3", "churn", None),
        ("2025-Q4", "churn", None),
        ("2025-Q4", "customers", "region:benelux"),
        ("2025-Q4", "customers", "region:dach"),
    ]
    q3 = reader(seeded, settings, page_size, TECHSTART).metrics_by_type(
        "financial", start="2025-Q3", end="2025-Q3"
    )
    assert {m.subject for m in q3} == {"revenue", "margin", "arr"}


def test_metrics_by_dimension(seeded, settings, page_size):
    found = reader(seeded, settings, page_size).metrics_by_dimension("region:us")
    assert [(m.subject, m.value, m.unit) for m in found] == [("customers", Decimal("410"), "count")]


def test_tenants_by_owner_and_by_status(seeded, settings, page_size):
    metadata = MetadataReader(seeded, settings, page_size=page_size)
    (acme,) = metadata.tenants_by_owner("data-owner@acme-corp.example")
    assert (acme.tenant_id, acme.plan) == (ACME, "standard")
    assert [t.tenant_id for t in metadata.tenants_by_status("active")] == [ACME, TECHSTART]
    assert metadata.tenants_by_status("suspended") == []
    assert metadata.tenant(TECHSTART).name == "TechStart Inc"


def test_results_are_followed_across_pages(seeded, settings):
    seeded.operations.clear()
    reader(seeded, settings, 1, TECHSTART).metrics_by_type("customer")
    assert seeded.operations.count("Query") >= 4  # one item per page: every page was read


def test_no_query_path_issues_a_scan(seeded, settings):
    seeded.operations.clear()
    for tenant in (ACME, TECHSTART):
        read = reader(seeded, settings, 2, tenant)
        read.message("msg-acme-0001")
        read.session_messages("sess-acme-2026-01-12-a")
        read.sender_messages("user-jdoe")
        read.metric_series("revenue", start="2025-Q1", end="2025-Q4")
        read.metric_series("customers", dimension="region:us")
        read.metrics_by_type("financial")
        read.metrics_by_dimension("region:dach", start="2025-Q4")
    metadata = MetadataReader(seeded, settings, page_size=1)
    metadata.tenant(ACME)
    metadata.tenants_by_owner("platform@techstart.example")
    metadata.tenants_by_status("active")
    assert set(seeded.operations) == {"GetItem", "Query"}


def test_a_reader_refuses_another_tenants_tables(seeded, settings):
    read = reader(seeded, settings, None)
    assert read.own_table(read.metrics.name)
    with pytest.raises(CrossTenantAccessError, match="cannot read table 'tenant-techstart"):
        read.own_table("tenant-techstart-inc-002-metrics")
    other = reader(seeded, settings, None, TECHSTART)
    # siloed, tables differ; pooled, they are one table, and the keys keep tenants apart
    assert (read.metrics.name == other.metrics.name) is (settings.tier(read.tenant) is Tier.POOL)


def test_records_as_a_dataframe(seeded, settings):
    table = frame(reader(seeded, settings, None).metric_series("revenue"))
    assert list(table["period"]) == ["2025-Q2", "2025-Q3", "2025-Q4"]
    assert {"value", "unit", "confidence", "source", "sourceId"} <= set(table.columns)
    messages = frame(reader(seeded, settings, None).session_messages("sess-acme-2026-01-12-a"))
    assert "classification.intent" in messages.columns
    assert frame([], columns=["period"]).columns.tolist() == ["period"]


@pytest.mark.parametrize("page", [1, 7, 100])
def test_every_period_range_pages_to_the_end_on_every_engine(tables, settings, page):
    """Many metrics of one period on an index: Amazon's DynamoDB Local stops paging early, with
    no error, when a page ends inside equal sort keys at an inclusive upper bound. The
    readers' ranges never end inclusively on a stored value, so every form reads them all."""
    same_period = [
        make_metric(n, subject=f"kpi_{n:03d}", period="2023-06", dimension=None) for n in range(250)
    ]
    later = [make_metric(n, subject=f"kpi_{n:03d}", period="2023-07") for n in range(20)]
    TenantWriter(tables, settings, ACME, METRIC).ingest(as_source(same_period + later))
    read = reader(tables, settings, page)
    assert len(read.metrics_by_type("operational", start="2023-06", end="2023-06")) == 250
    assert len(read.metrics_by_type("operational", end="2023-06")) == 250
    assert len(read.metrics_by_type("operational", start="2023-05", end="2023-06")) == 250
    assert len(read.metrics_by_type("operational", start="2023-06", end="2023-07")) == 270
    assert len(read.metrics_by_type("operational", start="2023-06")) == 270
