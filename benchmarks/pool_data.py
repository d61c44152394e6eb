"""A pooled tenant beside a siloed one, on the same engine: ingest, re-ingest and queries.

    python -c "from benchmarks.pool_data import run; print(run().to_json())"

Both tenants are of one stack and get the same records; ten other pooled tenants' items share
the pool tables, so the pooled tenant's reads meet a crowd.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.harness import RequestCounter, Result, client, endpoint, per_second, timed
from benchmarks.pulumi_scale import roster
from ingestion.reading.queries import TenantReader
from ingestion.records.items import MESSAGE, METRIC
from ingestion.records.sources import SourceRecord
from ingestion.writing.writer import TenantWriter
from tenancy.provisioner import Provisioner
from tenancy.settings import StackSettings
from tenancy.tables import all_table_specs

DATA_RECORDS = 20_000  # metrics per tenant
QUICK_DATA_RECORDS = 300
MESSAGES = 2_000
QUICK_MESSAGES = 50


def _metric(n: int, tenant_id: str) -> dict[str, Any]:
    return {
        "tenantId": tenant_id,
        "subject": f"kpi_{n % 50:02d}",
        "period": f"{2000 + n // 600}-{(n // 50) % 12 + 1:02d}",
        "metricType": "operational",
        "value": n,
        "unit": "count",
        "dimension": f"region:r{n % 4}",
        "confidence": 0.9,
        "source": "bench",
        "sourceId": f"row-{n}",
    }


def _message(n: int, tenant_id: str) -> dict[str, Any]:
    return {
        "tenantId": tenant_id,
        "messageId": f"msg-{n:06d}",
        "sessionId": f"sess-{n // 20:04d}",
        "senderId": f"user-{n % 9}",
        "timestamp": 1_760_000_000 + n,
        "content": f"message {n}",
        "classification": {"intent": "smalltalk", "confidence": 0.5},
    }


def _records(make: Callable[[int, str], dict[str, Any]], count: int, tenant_id: str):
    return [SourceRecord(f"record {n}", data=make(n, tenant_id)) for n in range(count)]


def _queries(reader: TenantReader) -> list[tuple[str, Callable[[], list]]]:
    return [
        ("one series (table key)", lambda: reader.metric_series("kpi_07", dimension="region:r3")),
        ("all metrics (MetricTypeIndex)", reader.all_metrics),
        ("a dimension (DimensionIndex)", lambda: reader.metrics_by_dimension("region:r1")),
        ("a session (SessionIndex)", lambda: reader.session_messages("sess-0001")),
    ]


def _data_rows(quick: bool) -> list[list[Any]]:
    """One pooled and one siloed tenant of the same stack, with the same records, on one
    endpoint: ingest, re-ingest, and each kind of query."""
    records = QUICK_DATA_RECORDS if quick else DATA_RECORDS
    messages = QUICK_MESSAGES if quick else MESSAGES
    # bench-00000..98 pooled, bench-00099 siloed; every one active (takes writes)
    entries = [{**entry, "status": "active"} for entry in roster(100, pooled=99)]
    settings = StackSettings.from_values("bench", {"tenants": entries}, source="generated")
    tenants = {"pooled": settings.pooled()[0].tenant_id, "siloed": settings.siloed()[0].tenant_id}
    rows = []
    with endpoint() as url:
        dynamodb = client(url)
        Provisioner(dynamodb).apply(all_table_specs(settings))
        # a crowd in the pool: every other pooled tenant's items are in the same table
        for other in settings.pooled()[1:11]:
            TenantWriter(dynamodb, settings, other.tenant_id, METRIC).ingest(
                _records(_metric, records // 10, other.tenant_id)
            )
        counter = RequestCounter(dynamodb)
        for tier, tenant_id in tenants.items():
            for label, kind, make, count in (
                ("ingest metrics", METRIC, _metric, records),
                ("re-ingest metrics", METRIC, _metric, records),
                ("ingest messages", MESSAGE, _message, messages),
            ):
                batch = _records(make, count, tenant_id)
                writer = TenantWriter(dynamodb, settings, tenant_id, kind)
                counter.reset()
                done = timed(lambda writer=writer, batch=batch: writer.ingest(batch))
                rate = round(per_second(count, done.seconds))
                rows.append([tier, label, count, round(done.seconds, 2), rate, counter.total])
            reader = TenantReader(dynamodb, settings, tenant_id)
            for label, query in _queries(reader):
                counter.reset()
                found = timed(query)
                rows.append(
                    [tier, label, len(found.value), round(found.seconds, 3), "", counter.total]
                )
    return rows


def notes_for(rows: list[list[Any]], records: int) -> list[str]:
    """What the rows say, pooled against siloed."""
    by = {(row[0], row[1]): row for row in rows}
    ingest = {tier: by[tier, "ingest metrics"] for tier in ("pooled", "siloed")}
    queries = [label for tier, label in by if tier == "pooled" and label not in (
        "ingest metrics", "re-ingest metrics", "ingest messages")]  # fmt: skip
    pages = "; ".join(
        f"{label}: {by['pooled', label][5]} against {by['siloed', label][5]}" for label in queries
    )
    return [
        f"Ingest of {records:,} metrics: pooled {ingest['pooled'][3]} s, siloed "
        f"{ingest['siloed'][3]} s, in {ingest['pooled'][5]:,} and {ingest['siloed'][5]:,} "
        "requests (the same batches: a pooled tenant's writes cost what a siloed one's do).",
        f"Query requests, pooled against siloed: {pages}. A pooled item carries its composed "
        "keys (`tenantSeriesId`, `tenantMetricType`, `tenantDimension`: a few dozen bytes), so "
        "a 1 MB page holds fewer of them and a large result takes a page or two more; the "
        "queries read only the tenant's own items, whatever else the pool holds.",
    ]


def run(quick: bool = False) -> Result:
    records = QUICK_DATA_RECORDS if quick else DATA_RECORDS
    messages = QUICK_MESSAGES if quick else MESSAGES
    rows = _data_rows(quick)
    return Result(
        title="Pooled tier: a pooled tenant beside a siloed one",
        method=(
            f"One pooled and one siloed tenant of a 100-tenant stack (99 pooled) each ingest "
            f"{records:,} metrics (leased mode, the default), re-ingest them, ingest "
            f"{messages:,} messages, then run each access pattern once; ten other pooled "
            f"tenants' {records // 10:,} metrics each are in the pool tables first. Requests "
            "are HTTP attempts counted with botocore's hook; each figure is one run."
        ),
        columns=["tier", "what", "records", "seconds", "records per second", "requests"],
        rows=rows,
        notes=notes_for(rows, records),
    )
