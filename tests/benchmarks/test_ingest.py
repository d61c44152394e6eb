"""The ingestion benchmark at tiny sizes: it measures what it says (figures are not judged)."""

from __future__ import annotations

import pytest

from benchmarks import ingest

pytestmark = pytest.mark.engine


def test_each_writer_stores_every_record_with_the_requests_its_design_implies():
    result = ingest.run(quick=True)
    records = ingest.QUICK["records"]
    rows = {(row[0], row[1]): dict(zip(result.columns, row, strict=True)) for row in result.rows}
    assert len(rows) == 16  # six writers and two re-ingests, for each kind
    for kind in ("metric", "message"):
        first = rows[kind, "ingest, leased (default)"]
        again = rows[kind, "re-ingest, leased"]
        assert first["outcome"] == f"{records} written"
        assert again["outcome"] == f"{records} duplicates" and again["writes"] == 0
        # A BatchGetItem per 100 records, and the first 100 (read before the lease was held)
        # read again under it; every record 25 a BatchWriteItem; the lease taken and given
        # back. A re-ingest reads only: no lease, no writes.
        leased = records // 100 + 1 + records // 25 + 2
        assert first["requests / 1,000"] == round(leased * 1000 / records, 1)
        assert again["requests / 1,000"] == 10
        # a BatchGetItem per 100, a BatchWriteItem per 25; the lease that fences tenant
        # operations taken and given back
        batch = records // 100 + records // 25 + 2
        assert rows[kind, "ingest, --mode batch"]["requests / 1,000"] == round(
            batch * 1000 / records, 1
        )
        assert rows[kind, "re-ingest, --mode batch"]["writes"] == 0
        assert rows[kind, "batch_writer (a)"]["requests / 1,000"] == 40
        assert rows[kind, "conditional PutItem (b)"]["requests / 1,000"] == 1000
        # Write units by DynamoDB's rule: a plain put costs one; the lease two in all.
        leased_units = (records + 2) / records
        assert first["write units / record"] == round(leased_units, 3)
        assert rows[kind, "batch_writer (a)"]["write units / record"] == 1
    labels = [target.label for target in result.targets]
    assert any(label.startswith("messages: ingest vs the fastest peer (") for label in labels)
    assert "metrics: client CPU per record, ingest / batch_writer (a)" in labels
    assert any(label.startswith("metrics: write units per new record, default") for label in labels)
    assert len(labels) in (20, 22)  # 22 where the engine reports its own write units
    for kind in ("metric", "message"):  # the peers store every record too
        for peer in ingest.PEERS:
            assert rows[kind, peer]["outcome"] == f"{records} written"
