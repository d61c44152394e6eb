"""The writer lease: one default-mode writer at a time per table, and a re-ingest takes none.

Every test runs against the session's engine over HTTP; clocks and sleeps are injected where
a test needs time to pass.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import pytest

from ingestion.notebook_support.table_inventory import sample
from ingestion.reading.queries import TenantReader
from ingestion.records.items import METRIC, serialize
from ingestion.writing.lease import (
    EXPIRES_ATTR,
    HOST_ATTR,
    LEASE_KEY,
    OWNER_ATTR,
    PID_ATTR,
    LeaseBusyError,
    LeaseLostError,
    WriterLease,
    lease_key,
)
from ingestion.writing.writer import IngestInterruptedError, TenantWriter
from tests.ingestion.conftest import ACME, all_items, as_source, make_metric

TABLE = f"tenant-{ACME}-metrics"


def records(count: int, start: int = 0) -> list:
    return as_source([make_metric(n) for n in range(start, start + count)])


def plant_lease(
    client, *, owner="someone-else", host="elsewhere", pid=1, expires=None, **more
) -> None:
    """A lease as a live writer on another host holds it (expiring in 25 s), or with `more`
    attributes and another `expires` (any type), as a tenant's own role could plant one."""
    item = {
        **lease_key(METRIC, ACME),
        OWNER_ATTR: owner,
        HOST_ATTR: host,
        PID_ATTR: pid,
        EXPIRES_ATTR: int(time.time() + 25) if expires is None else _whole(expires),
        **more,
    }
    client.put_item(TableName=TABLE, Item=serialize(item))


def _whole(value):
    return int(value) if isinstance(value, float) else value


def lease_item(client):
    return client.get_item(TableName=TABLE, Key=serialize(lease_key(METRIC, ACME))).get("Item")


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def write_requests(client) -> list[str]:
    sent: list[str] = []
    writes = {"PutItem", "DeleteItem", "UpdateItem", "BatchWriteItem", "TransactWriteItems"}

    def count(event_name, **_):
        operation = event_name.rsplit(".", 1)[-1]
        if operation in writes:
            sent.append(operation)

    client.meta.events.register("before-send.dynamodb", count)
    return sent


def test_an_ingest_takes_the_lease_writes_plainly_and_gives_it_back(tables, settings):
    sent = write_requests(tables)
    report = TenantWriter(tables, settings, ACME, METRIC).ingest(records(1_000))
    assert report.written == 1_000
    # lease taken (the first 100, read before it, are read again under it), then plain
    # batches for every record, then the lease given back
    assert sent[0] == "PutItem" and sent[-1] == "DeleteItem"
    assert sent.count("TransactWriteItems") == 0
    assert sent.count("BatchWriteItem") == 1_000 // 25
    assert lease_item(tables) is None
    assert len(all_items(tables, TABLE)) == 1_000


def test_a_reingest_takes_no_lease_and_writes_nothing(tables, settings):
    TenantWriter(tables, settings, ACME, METRIC).ingest(records(500))
    sent = write_requests(tables)
    again = TenantWriter(tables, settings, ACME, METRIC).ingest(records(500))
    assert (again.duplicates, again.written) == (500, 0)
    assert sent == []


def test_a_second_writer_waits_for_the_first_and_counts_exactly(tables, settings):
    first = TenantWriter(tables, settings, ACME, METRIC)
    first.lease.ensure()  # the first writer is mid-ingest
    first.writer.write([first.validate(s) for s in records(150)])  # it has stored 0..149
    waits = []

    def first_finishes(seconds):
        waits.append(seconds)
        first.lease.release()

    second = TenantWriter(
        tables, settings, ACME, METRIC, sleep=first_finishes, on_wait=waits.append
    )
    report = second.ingest(records(300, start=100))  # overlaps 100..149
    assert len(waits) == 2  # told once who holds it, slept once
    assert "pid" in waits[0].describe()
    assert (report.written, report.duplicates) == (250, 50)
    assert len(all_items(tables, TABLE)) == 400


def test_a_holder_killed_on_this_host_is_noticed_at_once(tables, settings):
    plant_lease(tables, owner="killed-run", host=socket.gethostname(), pid=dead_pid())
    slept = []
    report = TenantWriter(tables, settings, ACME, METRIC, sleep=slept.append).ingest(records(200))
    assert report.written == 200 and slept == []


def test_an_expired_lease_of_another_host_is_taken(tables, settings):
    plant_lease(tables, host="other-host", pid=12345, expires=1_000)  # long past
    slept = []
    report = TenantWriter(tables, settings, ACME, METRIC, sleep=slept.append).ingest(records(200))
    assert report.written == 200 and slept == []


def test_a_live_lease_of_another_host_is_waited_out(tables, settings):
    now = [2_000_000_000.0]
    plant_lease(tables, host="other-host", pid=12345, expires=now[0] + 10)
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    lease = WriterLease(tables, TABLE, METRIC, ACME, clock=lambda: now[0], sleep=sleep)
    lease.ensure()
    assert 10 <= sum(slept) <= 11 and lease.held
    assert OWNER_ATTR in lease_item(tables) and lease_item(tables)[OWNER_ATTR]["S"] == lease.owner
    lease.release()


def test_an_ingest_that_waits_too_long_stops_having_written_nothing(tables, settings):
    plant_lease(tables, host="other-host", pid=12345)
    writer = TenantWriter(tables, settings, ACME, METRIC, sleep=lambda s: None)
    writer.lease.wait_seconds = 0
    with pytest.raises(IngestInterruptedError) as stopped:
        writer.ingest(records(300))
    assert isinstance(stopped.value.cause, LeaseBusyError)
    assert "pid 12345 on host other-host" in str(stopped.value.cause)
    assert stopped.value.report.written == 0 and all_items(tables, TABLE) == []


def test_a_lease_taken_from_a_holder_stops_it_before_it_writes_on(tables, settings):
    now = [2_000_000_000.0]
    writer = TenantWriter(tables, settings, ACME, METRIC)
    writer.lease.clock = lambda: now[0]
    real_ensure = writer.lease.ensure
    calls = []
    one_at_a_time = threading.Lock()  # chunks write side by side: the theft must not interleave

    def ensure():
        with one_at_a_time:
            calls.append(1)
            if len(calls) == 8:  # mid-ingest: the holder stalls, its lease expires, is taken
                now[0] += 60
                plant_lease(tables, owner="thief", expires=now[0] + 30)
            real_ensure()

    writer.lease.ensure = ensure
    with pytest.raises(IngestInterruptedError) as stopped:
        writer.ingest(records(1_000))
    assert isinstance(stopped.value.cause, LeaseLostError)
    report = stopped.value.report
    assert report.written == len(all_items(tables, TABLE)) < 1_000  # exact: what it wrote


def test_a_retried_acquisition_that_was_applied_is_recognised_as_ours(tables):
    lease = WriterLease(tables, TABLE, METRIC, ACME)
    lease.ensure()
    lease.expires = None  # as if the response was lost and the request sent again
    lease.ensure()
    assert lease.held
    lease.release()
    assert lease_item(tables) is None


def test_readers_never_meet_a_lease(tables, settings):
    TenantWriter(tables, settings, ACME, METRIC).ingest(records(50))
    plant_lease(tables)
    reader = TenantReader(tables, settings, ACME)
    assert len(reader.all_metrics()) == 50
    assert len(reader.metrics_by_type("operational")) == 50
    assert all(LEASE_KEY not in str(item) for item in sample(tables, TABLE, limit=100))


@pytest.mark.parametrize(
    "planted",
    [
        {"expires": 4_000_000_000},  # years ahead: no writer's lease runs that long
        {"expires": "never"},  # not a number: it never compares as expired
        {"expires": 4_000_000_000, "leaseFence": "keep out"},  # a fence no operation made
    ],
    ids=["far-future", "text-expiry", "unknown-fence"],
)
def test_a_lease_no_writer_made_blocks_nobody(tables, settings, planted):
    """A tenant's role may write its own lease slot: an item that would never expire must not
    block its ingests, moves or erasure for good."""
    plant_lease(tables, owner="planted", **planted)
    writer = TenantWriter(tables, settings, ACME, METRIC, sleep=lambda s: None)
    writer.lease.wait_seconds = 0
    report = writer.ingest(records(150))
    assert report.written == 150
