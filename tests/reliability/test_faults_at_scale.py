"""10,000 records under injected faults end exactly like a clean run: none lost, none doubled."""

from __future__ import annotations

import pytest

from ingestion.records.items import METRIC
from ingestion.writing.strategies import WriteMode
from ingestion.writing.writer import CHUNKS_IN_FLIGHT, IngestInterruptedError, TenantWriter
from tenancy.budgets import RETRY_POLICY
from tenancy.provisioner import Provisioner
from tenancy.tables import all_table_specs
from tests.ingestion.conftest import ACME, as_source, make_metric
from tests.reliability.conftest import contents
from tests.support import figures
from tests.support.faults import BotocoreSleeps, FaultyClient, inject_request_faults

RECORDS = 10_000
TABLE = f"tenant-{ACME}-metrics"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def reset_table(client, settings) -> None:
    client.delete_table(TableName=TABLE)
    Provisioner(client).apply(all_table_specs(settings))


def record_retry_attempts(client) -> list[int]:
    attempts: list[int] = []

    def after_call(http_response, parsed, **kwargs):
        attempts.append(parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0))

    client.meta.events.register("after-call.dynamodb", after_call)
    return attempts


@pytest.mark.parametrize("mode", list(WriteMode))
def test_ten_thousand_records_under_every_kind_of_fault(tables, settings, monkeypatch, mode):
    records = [make_metric(n) for n in range(RECORDS)]
    # The clean run: no faults. Both modes store the same items, so the faster one serves.
    clean = TenantWriter(tables, settings, ACME, METRIC, mode=WriteMode.BATCH).ingest(
        as_source(records)
    )
    assert clean.written == RECORDS
    expected = contents(tables, TABLE)
    reset_table(tables, settings)

    botocore_sleeps = BotocoreSleeps(monkeypatch)
    attempts = record_retry_attempts(tables)
    request_faults = inject_request_faults(
        tables, throttle_share=0.04, drop_before_share=0.02, drop_after_share=0.02
    )
    faulty = FaultyClient(tables, unprocessed_share=0.15, throttled_transaction_share=0.1)
    sleeps = Sleeps()
    writer = TenantWriter(faulty, settings, ACME, METRIC, mode=mode, sleep=sleeps)
    report = writer.ingest(as_source(records))

    assert contents(tables, TABLE) == expected  # exactly the clean run's items
    assert (report.written, report.duplicates, report.conflicts, report.rejected) == (
        RECORDS,
        0,
        0,
        0,
    )
    assert writer.store.longest_retry_run <= RETRY_POLICY.throttle_retries
    assert max(attempts) <= RETRY_POLICY.network_retries
    assert all(0 <= s <= RETRY_POLICY.cap_seconds for s in sleeps)
    item_faults = (
        faulty.log["unprocessed_items"]
        + faulty.log["unprocessed_keys"]
        + faulty.log["throttled_transactions"]
    )
    http_faults = sum(request_faults.counts.values())
    assert item_faults > 100 and http_faults > 20
    figures.record(
        f"faults at scale ({mode})",
        records=RECORDS,
        unprocessed_items=faulty.log["unprocessed_items"],
        unprocessed_keys=faulty.log["unprocessed_keys"],
        throttled_transactions=faulty.log["throttled_transactions"],
        throttled_requests=request_faults["throttled_requests"],
        dropped_before_send=request_faults["dropped_before"],
        dropped_after_apply=request_faults["dropped_after"],
        item_retries=report.throttle_retries,
        longest_item_retry_run=writer.store.longest_retry_run,
        botocore_retries=len(botocore_sleeps.delays),
        most_retries_one_request=max(attempts),
        lost=0,
        doubled=0,
    )


def test_an_exhausted_budget_says_how_far_ingestion_got(tables, settings):
    records = [make_metric(n) for n in range(1_000)]
    sleeps = Sleeps()
    writer = TenantWriter(tables, settings, ACME, METRIC, mode=WriteMode.BATCH, sleep=sleeps)
    # DynamoDB stops taking writes after 300 records (row-300 on), whichever thread sends them
    writer.store.client = FaultyClient(
        writer.store.client, refuse_item=lambda item: int(item["sourceId"]["S"][4:]) >= 300
    )
    with pytest.raises(IngestInterruptedError) as failure:
        writer.ingest(as_source(records))
    report = failure.value.report
    assert report.written == 300
    assert "Ingestion stopped after 300 of the records read (300 written" in str(failure.value)
    # the chunks in flight (records 300 on, 7 chunks of 100) each spent their own budget
    in_flight = min(CHUNKS_IN_FLIGHT, 700 // 100)
    assert len(sleeps) == in_flight * RETRY_POLICY.throttle_retries
    assert writer.store.longest_retry_run == RETRY_POLICY.throttle_retries
    assert len(contents(tables, TABLE)) == 300  # what it says is written, is written

    resumed = TenantWriter(tables, settings, ACME, METRIC).ingest(as_source(records))
    assert (resumed.written, resumed.duplicates) == (700, 300)
    figures.record(
        "throttling budget exhausted",
        records=1_000,
        written_before_stop=300,
        retries_used=len(sleeps),
        resumed_written=700,
        resumed_duplicates=300,
        lost=0,
    )
