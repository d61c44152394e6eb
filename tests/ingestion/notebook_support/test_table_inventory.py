"""How an operator's sample of items reads, whatever order the engine stores attributes in."""

from __future__ import annotations

from decimal import Decimal

from ingestion.notebook_support.table_inventory import sample_view

STORED = {  # as DynamoDB Local returned one seeded message: its own attribute order
    "schemaVersion": Decimal("1"),
    "references": [{"source": "salesforce", "sourceId": "OPP-0061Q000ACME"}],
    "messageId": "msg-acme-0003",
    "classification": {"intent": "renewal_risk", "confidence": Decimal("0.88")},
    "ingestId": "08bd77d3965a45969e6a1b74b0a07d1e",
    "contentHash": "sha256:07786b54391d46e70b5d2c8bed9601964287d3c0ef708a87dca25100d1c7d44c",
    "ingestedAt": "2026-12-02T13:00:05Z",
    "recordKey": "msg-acme-0003",
    "tenantId": "acme-corp-001",
    "timestamp": Decimal("1768212060"),
}


def test_fields_read_tenant_first_then_record_then_bookkeeping():
    view = sample_view([STORED, dict(reversed(STORED.items()))])
    assert list(view.index) == [
        "tenantId",
        "classification.confidence", "classification.intent", "messageId", "references",
        "timestamp",
        "schemaVersion", "contentHash", "recordKey", "ingestedAt", "ingestId",
    ]  # fmt: skip
    assert view["item 1"].tolist() == view["item 2"].tolist()


def test_values_read_as_people_write_them():
    column = sample_view([STORED])["item 1"]
    assert column["timestamp"] == "2026-01-12 10:01:00"
    assert column["references"] == "salesforce:OPP-0061Q000ACME"
    assert column["classification.intent"] == "renewal_risk"
    assert column["contentHash"] == "sha256:07786b543\u2026"


def test_a_field_missing_from_one_item_is_blank_not_none():
    partial = {k: v for k, v in STORED.items() if k != "classification"}
    view = sample_view([STORED, partial])
    assert view.loc["classification.intent"].tolist() == ["renewal_risk", ""]


def test_a_large_tables_last_write_is_a_bounded_read_said_as_such(tables, settings):
    """The overview reads at most a sample of a table for its last write: a table with more
    items says its time is a lower bound; a table read whole says the time itself."""
    import pandas as pd

    from ingestion.notebook_support.table_inventory import last_write
    from ingestion.records.items import METRIC
    from ingestion.writing.strategies import WriteMode
    from ingestion.writing.writer import TenantWriter
    from tests.ingestion.conftest import ACME, as_source, make_metric

    TenantWriter(tables, settings, ACME, METRIC, mode=WriteMode.BATCH).ingest(
        as_source([make_metric(n) for n in range(30)])
    )
    table = f"tenant-{ACME}-metrics"
    assert isinstance(last_write(tables, table, limit=100), pd.Timestamp)
    bounded = last_write(tables, table, limit=10)
    assert isinstance(bounded, str) and bounded.endswith(" or later (10 items read)")
