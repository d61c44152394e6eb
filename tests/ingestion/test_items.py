"""Records as items: keys from the table layouts, fingerprints, sizes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ingestion.contracts import Message, Metric
from ingestion.items import KINDS, MAX_ITEM_BYTES, content_hash, item_size
from tenancy.roster import Tenant
from tests.ingestion.conftest import make_message, make_metric
from tests.support.stacks import local_roster

RECORDS = {
    "message": Message.model_validate(make_message(1)),
    "metric": Metric.model_validate(make_metric(1)),
    "tenant": Tenant.model_validate(local_roster()[0]),
}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_items_carry_their_table_keys_and_read_back_as_the_record(name):
    kind, record = KINDS[name], RECORDS[name]
    item = kind.to_item(record, "2026-01-01T00:00:00Z", "run-1")
    layout_keys = {k.name for k in (kind.layout.hash_key, kind.layout.range_key) if k}
    index_keys = {
        k.name for index in kind.layout.indexes for k in (index.hash_key, index.range_key)
    }
    assert layout_keys <= set(item)
    assert set(kind.derived(record)) == set(kind.derived_names)
    assert index_keys - {"dimension"} <= set(item)  # dimension is optional: a sparse index
    assert kind.from_item(item) == record
    assert item["schemaVersion"] == 1 and item["ingestId"] == "run-1"


def test_fingerprints_ignore_key_order_and_number_spelling():
    a = {"value": Decimal("1.50"), "unit": "USD", "n": 3}
    b = {"n": Decimal("3.0"), "unit": "USD", "value": Decimal("1.5")}
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash({**a, "unit": "EUR"})


def test_item_size_follows_dynamodb_rules():
    assert item_size({"ab": "xyz"}) == 5
    assert item_size({"n": Decimal("12345")}) == 1 + 4
    big = {"content": "x" * MAX_ITEM_BYTES}
    assert item_size(big) > MAX_ITEM_BYTES
