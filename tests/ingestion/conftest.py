from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ingestion.records.sources import SourceRecord

PROJECT_DIR = Path(__file__).resolve().parents[2]
SEED_DIR = PROJECT_DIR / "seed_data"
ACME = "acme-corp-001"
TECHSTART = "techstart-inc-002"


def seed_records(tenant_id: str, kind: str) -> list[dict[str, Any]]:
    return json.loads((SEED_DIR / tenant_id / f"{kind}.json").read_text())


def as_source(records: Iterable[Any]) -> list[SourceRecord]:
    return [SourceRecord(f"item {n}", data=r) for n, r in enumerate(records, start=1)]


def make_metric(n: int, tenant_id: str = ACME, **overrides: Any) -> dict[str, Any]:
    """A valid metric; n picks a distinct (subject, period, dimension)."""
    record = {
        "tenantId": tenant_id,
        "subject": f"kpi_{n // 1000}",
        "period": f"20{10 + (n // 12) % 15:02d}-{n % 12 + 1:02d}",
        "metricType": "operational",
        "value": n * 3 + 0.25,
        "unit": "count",
        "dimension": f"shard:s{n % 1000 // 12}",
        "confidence": 0.9,
        "source": "loadgen",
        "sourceId": f"row-{n}",
    }
    record.update(overrides)
    return record


def make_message(n: int, tenant_id: str = ACME, **overrides: Any) -> dict[str, Any]:
    record = {
        "tenantId": tenant_id,
        "messageId": f"msg-{n:06d}",
        "sessionId": f"sess-{n // 10:05d}",
        "senderId": f"user-{n % 7}",
        "timestamp": 1_760_000_000 + n,
        "content": f"message number {n}",
        "classification": {"intent": "smalltalk", "confidence": 0.5},
        "references": [{"source": "crm", "sourceId": f"c-{n}"}],
    }
    record.update(overrides)
    return record


def all_items(client, table: str) -> list[dict[str, Any]]:
    """Every record item of a table, by a Scan (the platform scans only a siloed tenant's own
    tables, the pool for `erase --sweep` and the index backfill, and a bounded sample in
    notebook 01), without a writer lease an ingest left behind when it was killed."""
    from ingestion.writing.lease import LEASE_KEY

    items = []
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(
            item
            for item in page["Items"]
            if not any(value.get("S", "").endswith(LEASE_KEY) for value in item.values())
        )
    return items
