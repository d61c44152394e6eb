"""Injected faults: unprocessed items, throttling and dropped connections lose nothing.

Item-level faults are retried by our backoff (recorded, never really slept); request-level
faults by botocore's standard retry mode (its sleeps are recorded too).
"""

from __future__ import annotations

import random

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError

from ingestion.records.items import MESSAGE, METRIC, deserialize
from ingestion.writing.backoff import Backoff, RetryBudgetExhaustedError
from ingestion.writing.strategies import WriteMode
from ingestion.writing.writer import IngestInterruptedError, TenantWriter
from tenancy.budgets import RETRY_POLICY
from tests.ingestion.conftest import ACME, all_items, as_source, make_message, make_metric
from tests.support.faults import (
    BotocoreSleeps,
    FaultyClient,
    _Raw,
    inject_request_faults,
)

METRICS_TABLE = f"tenant-{ACME}-metrics"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def stored_keys(client, table=METRICS_TABLE) -> list[str]:
    return sorted(deserialize(item)["recordKey"] for item in all_items(client, table))


def assert_backoff_within_budget(sleeps: list[float]) -> None:
    cap, base = RETRY_POLICY.cap_seconds, RETRY_POLICY.base_seconds
    assert all(0 <= s <= cap for s in sleeps)
    assert max(sleeps, default=0) <= min(cap, base * 2**RETRY_POLICY.throttle_retries)


def test_full_jitter_delays_stay_under_the_doubling_ceiling_and_the_cap():
    backoff = Backoff("op", "t", sleep=lambda s: None, rng=random.Random(3))
    for attempt in range(12):
        ceiling = min(5.0, 0.1 * 2**attempt)
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # full jitter spans the whole range
    sleeps = Sleeps()
    backoff = Backoff("BatchWriteItem", "t", sleep=sleeps)
    for _ in range(RETRY_POLICY.throttle_retries):
        backoff.wait(pending=3)
    with pytest.raises(RetryBudgetExhaustedError, match="3 items still unprocessed after 10"):
        backoff.wait(pending=3)
    assert len(sleeps) == 10


@pytest.mark.parametrize("mode", list(WriteMode))
def test_unprocessed_items_and_keys_are_resent_until_every_record_is_stored(tables, settings, mode):
    faulty = FaultyClient(tables, unprocessed_share=0.3, throttled_transaction_share=0.3)
    sleeps = Sleeps()
    records = [make_metric(n) for n in range(600)]
    writer = TenantWriter(faulty, settings, ACME, METRIC, mode=mode, sleep=sleeps)
    report = writer.ingest(as_source(records))

    assert (report.received, report.written, report.duplicates, report.conflicts) == (
        600,
        600,
        0,
        0,
    )
    expected = sorted(f"{ACME}:{r['subject']}:{r['period']}:{r['dimension']}" for r in records)
    assert stored_keys(tables) == expected  # none lost, none doubled
    injected = faulty.log["unprocessed_keys"] + faulty.log["unprocessed_items"]
    injected += faulty.log["throttled_transactions"]
    assert injected > 50 and report.throttle_retries == len(sleeps) > 0
    assert_backoff_within_budget(sleeps)


def test_a_spent_throttling_budget_says_how_far_ingestion_got(tables, settings):
    sleeps = Sleeps()
    records = [make_message(n) for n in range(250)]
    writer = TenantWriter(tables, settings, ACME, MESSAGE, mode=WriteMode.BATCH, sleep=sleeps)
    # DynamoDB stops accepting writes after 200 records (msg-000200 on)
    writer.store.client = FaultyClient(
        tables, refuse_item=lambda item: item["messageId"]["S"] >= "msg-000200"
    )
    with pytest.raises(IngestInterruptedError) as failure:
        writer.ingest(as_source(records))
    text = str(failure.value)
    assert "BatchWriteItem on tenant-acme-corp-001-messages: 25 items still unprocessed" in text
    assert "after 10 retries" in text
    assert "Ingestion stopped after 200 of the records read (200 written" in text
    assert "Run the same command again to resume" in text
    assert len(sleeps) == RETRY_POLICY.throttle_retries
    assert_backoff_within_budget(sleeps)

    resumed = TenantWriter(tables, settings, ACME, MESSAGE).ingest(as_source(records))
    assert (resumed.written, resumed.duplicates) == (50, 200)
    assert len(all_items(tables, f"tenant-{ACME}-messages")) == 250


@pytest.mark.parametrize("mode", list(WriteMode))
def test_throttled_and_dropped_requests_are_retried_by_botocore(
    tables, settings, monkeypatch, mode
):
    botocore_sleeps = BotocoreSleeps(monkeypatch)
    log = inject_request_faults(
        tables, throttle_share=0.1, drop_before_share=0.05, drop_after_share=0.05
    )
    records = [make_metric(n) for n in range(400)]
    report = TenantWriter(tables, settings, ACME, METRIC, mode=mode).ingest(as_source(records))

    # Lost responses of applied writes are recognised as our own writes, not duplicates.
    assert (report.written, report.duplicates, report.conflicts) == (400, 0, 0)
    assert len(stored_keys(tables)) == 400
    faults = log["throttled_requests"] + log["dropped_before"] + log["dropped_after"]
    assert faults > 0 and len(botocore_sleeps.delays) == faults


def test_connection_errors_give_up_after_the_network_budget(tables, settings, monkeypatch):
    botocore_sleeps = BotocoreSleeps(monkeypatch)
    log = inject_request_faults(tables, drop_before_share=1.0, operations=("BatchGetItem",))
    writer = TenantWriter(tables, settings, ACME, MESSAGE)
    with pytest.raises(IngestInterruptedError) as failure:
        writer.ingest(as_source([make_message(1)]))
    assert isinstance(failure.value.cause, ConnectionClosedError)
    assert log["dropped_before"] == RETRY_POLICY.network_retries + 1  # 1 try + 5 retries
    assert len(botocore_sleeps.delays) == RETRY_POLICY.network_retries
    assert "0 written" in str(failure.value)


def test_validation_errors_fail_fast_and_are_never_retried(tables, settings, monkeypatch):
    BotocoreSleeps(monkeypatch)
    attempts = []
    body = b'{"__type":"com.amazon.coral.validate#ValidationException","message":"bad item"}'

    def refuse(request, **kwargs):
        attempts.append(request.url)
        return AWSResponse(request.url, 400, {}, _Raw(body))

    tables.meta.events.register("before-send.dynamodb.TransactWriteItems", refuse)
    tables.meta.events.register("before-send.dynamodb.BatchWriteItem", refuse)
    report = TenantWriter(tables, settings, ACME, MESSAGE).ingest(as_source([make_message(1)]))
    # Refused for what the item holds: rejected, naming DynamoDB's reason, and sent once.
    assert (report.rejected, report.written) == (1, 0)
    (rejection,) = report.rejections
    assert rejection.errors[0].reason == "refused by DynamoDB: ValidationException: bad item"
    assert len(attempts) == 1


def test_invalid_records_are_never_sent(tables, settings, monkeypatch):
    sent = []
    tables.meta.events.register(
        "before-call.dynamodb.*", lambda model, **kwargs: sent.append(model.name)
    )
    report = TenantWriter(tables, settings, ACME, MESSAGE).ingest(
        as_source([make_message(1, timestamp=1_760_000_000_000)])
    )
    assert report.rejected == 1 and sent == []
