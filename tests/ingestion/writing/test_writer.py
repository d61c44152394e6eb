"""Idempotent writes against the session's engine over HTTP: duplicates, conflicts, isolation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ingestion.reading.queries import TenantReader
from ingestion.records.items import (
    CONTENT_HASH_ATTR,
    INGEST_ID_ATTR,
    MESSAGE,
    METRIC,
    deserialize,
    serialize,
)
from ingestion.records.sources import Quarantine
from ingestion.writing.strategies import WriteMode
from ingestion.writing.writer import IdempotentWriter, TenantWriter
from tenancy.roster import UnknownTenantError
from tests.ingestion.conftest import (
    ACME,
    TECHSTART,
    all_items,
    as_source,
    make_message,
    make_metric,
    seed_records,
)

METRICS_TABLE = f"tenant-{ACME}-metrics"
MESSAGES_TABLE = f"tenant-{ACME}-messages"


def ingest(client, settings, kind, records, **options):
    return TenantWriter(client, settings, ACME, kind, **options).ingest(as_source(records))


@pytest.mark.parametrize("mode", list(WriteMode))
def test_reingest_reports_every_record_as_duplicate_and_changes_nothing(tables, settings, mode):
    records = seed_records(ACME, "metrics")
    first = ingest(tables, settings, METRIC, records, mode=mode)
    assert (first.received, first.written, first.duplicates) == (10, 10, 0)
    stored = sorted(map(str, all_items(tables, METRICS_TABLE)))

    second = ingest(tables, settings, METRIC, records, mode=mode)
    assert (second.received, second.written, second.duplicates, second.conflicts) == (
        10,
        0,
        10,
        0,
    )
    assert sorted(map(str, all_items(tables, METRICS_TABLE))) == stored


def test_a_changed_record_is_a_conflict_and_the_stored_one_is_kept(tables, settings):
    records = seed_records(ACME, "metrics")
    ingest(tables, settings, METRIC, records)
    restated = [dict(records[2], value=14_250_000, confidence=0.97)]

    report = ingest(tables, settings, METRIC, restated)
    assert (report.written, report.conflicts, report.updated) == (0, 1, 0)
    (conflict,) = report.conflict_details
    assert conflict.record_key == "acme-corp-001:revenue:2025-Q4"
    assert conflict.fields == ("confidence", "value")
    series = TenantReader(tables, settings, ACME).metric_series("revenue", start="2025-Q4")
    assert series[0].value == Decimal("14100000")


def test_a_restated_metric_is_accepted_as_an_update_when_asked(tables, settings):
    records = seed_records(ACME, "metrics")
    ingest(tables, settings, METRIC, records)
    restated = [dict(records[2], value=14_250_000)]

    report = ingest(tables, settings, METRIC, restated, accept_updates=True)
    assert (report.written, report.updated, report.conflicts) == (0, 1, 0)
    series = TenantReader(tables, settings, ACME).metric_series("revenue", start="2025-Q4")
    assert series[0].value == Decimal("14250000")
    again = ingest(tables, settings, METRIC, restated, accept_updates=True)
    assert (again.updated, again.duplicates) == (0, 1)


def test_messages_are_immutable(tables, settings):
    with pytest.raises(ValueError, match="a stored message is immutable"):
        TenantWriter(tables, settings, ACME, MESSAGE, accept_updates=True)


def test_repeats_inside_one_input_are_duplicates_or_conflicts(tables, settings):
    message = make_message(1)
    records = [message, message, dict(message, content="edited")]
    report = ingest(tables, settings, MESSAGE, records)
    assert (report.written, report.duplicates, report.conflicts) == (1, 1, 1)
    assert report.conflict_details[0].location == "item 3"
    assert len(all_items(tables, MESSAGES_TABLE)) == 1


def test_regional_series_do_not_overwrite_each_other(tables, settings):
    base = make_metric(0, subject="revenue", period="2025-Q4", dimension=None)
    regional = [dict(base, dimension=d, value=v) for d, v in (("region:emea", 1), ("region:us", 2))]
    report = ingest(tables, settings, METRIC, [base, *regional])
    assert report.written == 3
    keys = {deserialize(i)["recordKey"] for i in all_items(tables, METRICS_TABLE)}
    assert keys == {
        "acme-corp-001:revenue:2025-Q4",
        "acme-corp-001:revenue:2025-Q4:region:emea",
        "acme-corp-001:revenue:2025-Q4:region:us",
    }


def test_a_wrong_tenant_record_is_rejected_and_the_rest_land(tables, settings, tmp_path):
    records = [make_message(1), make_message(2, tenant_id=TECHSTART), make_message(3)]
    quarantine = Quarantine(tmp_path / "q.jsonl")
    report = TenantWriter(tables, settings, ACME, MESSAGE).ingest(
        as_source(records), quarantine=quarantine
    )
    quarantine.close()
    assert (report.written, report.rejected) == (2, 1)
    (rejection,) = report.rejections
    assert rejection.location == "item 2"
    assert rejection.errors[0].field == "tenantId"
    assert "'techstart-inc-002', but this ingest writes tenant 'acme-corp-001'" in (
        rejection.errors[0].reason
    )
    assert report.quarantine == tmp_path / "q.jsonl"
    assert all_items(tables, f"tenant-{TECHSTART}-messages") == []


def test_an_unknown_tenant_is_an_error_before_anything_is_written(tables, settings):
    with pytest.raises(UnknownTenantError, match="'globex-003' is not in the roster"):
        TenantWriter(tables, settings, "globex-003", MESSAGE)


def test_numbers_are_stored_exactly(tables, settings):
    ingest(tables, settings, METRIC, [make_metric(5, value=0.1, confidence=0.3)])
    (item,) = (deserialize(i) for i in all_items(tables, METRICS_TABLE))
    assert item["value"] == Decimal("0.1") and item["confidence"] == Decimal("0.3")
    assert item["schemaVersion"] == 1
    assert item[CONTENT_HASH_ATTR].startswith("sha256:") and item[INGEST_ID_ATTR]


def racing_first_read(real_fetch):
    """A store's fetch whose first read races as `race` says; every later one (made under the
    lease, in the leased mode) is real: no other leased writer can write then."""

    def first_read(race):
        raced = []

        def fetch(keys, **kwargs):
            if raced:
                return real_fetch(keys, **kwargs)
            raced.append(True)
            return race(keys, **kwargs)

        return fetch

    return first_read


@pytest.mark.parametrize("mode", [WriteMode.LEASED, WriteMode.TRANSACTIONAL])
def test_a_concurrent_insert_between_read_and_write_is_caught(tables, settings, mode):
    """Another writer stores the same key after our read, before we hold the lease (or in the
    lease-free transactional mode): the read made again under the lease finds it (leased), or
    DynamoDB's condition on our write does (transactional)."""
    writer = TenantWriter(tables, settings, ACME, MESSAGE, mode=mode)
    ours = writer.validate(as_source([make_message(1)])[0])
    theirs = TenantWriter(tables, settings, ACME, MESSAGE)
    same = theirs.validate(as_source([make_message(1)])[0])
    different = theirs.validate(as_source([make_message(2, content="theirs")])[0])

    real_fetch = writer.store.fetch
    first_read = racing_first_read(real_fetch)

    def fetch_then_race(keys, **kwargs):
        found = real_fetch(keys, **kwargs)  # we read: nothing stored yet
        IdempotentWriter(theirs.store, MESSAGE, tenant_id=ACME).write([same])
        return found

    writer.store.fetch = first_read(fetch_then_race)
    report = writer.writer.write([ours])
    assert (report.written, report.duplicates) == (0, 1)
    if writer.lease is not None:
        writer.lease.release()  # the next read is again one made before holding the lease

    mine = writer.validate(as_source([make_message(2)])[0])

    def race_then_find_nothing(keys, **kwargs):
        IdempotentWriter(theirs.store, MESSAGE, tenant_id=ACME).write([different])
        return {}  # what our read saw, a moment before

    writer.store.fetch = first_read(race_then_find_nothing)
    report = writer.writer.write([mine])
    assert (report.written, report.conflicts) == (0, 1)
    assert report.conflict_details[0].fields == ("content",)
    stored = {deserialize(i)["messageId"]: i for i in all_items(tables, MESSAGES_TABLE)}
    assert deserialize(stored["msg-000002"])["content"] == "theirs"


@pytest.mark.parametrize(
    "race",
    ["another restatement", "a deletion", "the same restatement by another run"],
)
@pytest.mark.parametrize("mode", [WriteMode.LEASED, WriteMode.TRANSACTIONAL])
def test_an_accepted_update_never_overwrites_a_change_made_after_its_read(
    tables, settings, race, mode
):
    """Optimistic updates: a restatement replaces only the version this run read. Another
    writer's change between that read and this write is kept, and this run says so. In the
    leased mode the first chunk is read again under the lease: a change made before that is
    what this run read, and the restatement replaces it, as it would have had the change come
    before the run; nothing can change between that read and the write."""
    original = make_metric(1, value=100)
    ingest(tables, settings, METRIC, [original])
    ours = TenantWriter(tables, settings, ACME, METRIC, accept_updates=True, mode=mode)
    theirs = TenantWriter(
        tables, settings, ACME, METRIC, accept_updates=True, mode=WriteMode.TRANSACTIONAL
    )
    mine = ours.validate(as_source([dict(original, value=200)])[0])
    other_value = 200 if race == "the same restatement by another run" else 300
    their_update = theirs.validate(as_source([dict(original, value=other_value)])[0])

    real_fetch = ours.store.fetch

    def fetch_then_race(keys, **kwargs):
        found = real_fetch(keys, **kwargs)  # we read value 100
        if race == "a deletion":
            tables.delete_item(TableName=METRICS_TABLE, Key=serialize(METRIC.key_dict(mine.item)))
        else:
            theirs.writer.write([their_update])
            theirs.lease.release()  # their run ends (every tenant write holds the lease)
        return found

    ours.store.fetch = racing_first_read(real_fetch)(fetch_then_race)
    report = ours.writer.write([mine])
    if ours.lease is not None:
        ours.lease.release()
    stored = all_items(tables, METRICS_TABLE)
    if mode is WriteMode.LEASED and race != "the same restatement by another run":
        # read again under the lease: their change (or the deletion) is what this run read
        assert (report.updated, report.written) == ((0, 1) if race == "a deletion" else (1, 0))
        assert report.conflicts == 0 and deserialize(stored[0])["value"] == 200
        return
    if race == "the same restatement by another run":
        assert (report.updated, report.duplicates, report.conflicts) == (0, 1, 0)
        assert deserialize(stored[0])["value"] == 200
        return
    assert (report.updated, report.conflicts) == (0, 1)
    (conflict,) = report.conflict_details
    assert conflict.concurrent and "changed by another writer during this run" in (
        conflict.describe()
    )
    if race == "a deletion":
        assert stored == []  # the deletion stands; the update did not resurrect the record
    else:
        assert deserialize(stored[0])["value"] == 300  # theirs, not ours


@pytest.mark.parametrize("mode", list(WriteMode))
def test_chunks_in_flight_never_share_a_key_and_repeats_see_what_came_before(
    tables, settings, mode
):
    """Chunks are written side by side, but a chunk repeating a key waits for the chunk that
    wrote it: the repeat is a duplicate or a conflict, never a second write."""
    import threading
    import time

    from ingestion.writing.writer import CHUNK_SIZE, CHUNKS_IN_FLIGHT

    writer = TenantWriter(tables, settings, ACME, MESSAGE, mode=mode)
    real_write = writer.writer.write
    lock, running, events = threading.Lock(), [], []

    def observed_write(candidates, quarantine=None):
        keys = {MESSAGE.key_of(c.item) for c in candidates}
        with lock:
            events.append((len(running) + 1, any(keys & other for other in running)))
            running.append(keys)
        time.sleep(0.05)  # long enough for the next chunk to start beside this one
        try:
            return real_write(candidates, quarantine)
        finally:
            with lock:
                running.remove(keys)

    writer.writer.write = observed_write
    first = [make_message(n) for n in range(CHUNK_SIZE)]
    total = (CHUNKS_IN_FLIGHT + 2) * CHUNK_SIZE  # enough chunks to fill every slot
    later = [make_message(n) for n in range(CHUNK_SIZE, total)]
    repeats = [make_message(5), make_message(6, content="changed"), make_message(7)]
    report = writer.ingest(as_source(first + repeats + later))  # the 2nd chunk repeats the 1st

    assert max(concurrent for concurrent, _ in events) == CHUNKS_IN_FLIGHT
    assert not any(shared for _, shared in events)
    assert (report.written, report.duplicates, report.conflicts) == (total, 2, 1)
    assert report.conflict_details[0].record_key.endswith("msg-000006")
    assert len(all_items(tables, MESSAGES_TABLE)) == total


OURS_ITEM = {CONTENT_HASH_ATTR: "sha256:ours", INGEST_ID_ATTR: "this-run"}


@pytest.mark.parametrize(
    ("stored", "options", "verdict"),
    [
        (None, {}, "write"),
        ({CONTENT_HASH_ATTR: "sha256:ours"}, {}, "duplicate"),
        ({CONTENT_HASH_ATTR: "sha256:theirs"}, {}, "conflict"),
        ({CONTENT_HASH_ATTR: "sha256:theirs"}, {"accept_updates": True}, "update"),
        # again, after a conditional put's condition failed:
        (None, {"condition_failed": True}, "write"),
        (None, {"condition_failed": True, "expected_hash": "sha256:old"}, "changed meanwhile"),
        (OURS_ITEM, {"condition_failed": True}, "ours"),
        (
            {CONTENT_HASH_ATTR: "sha256:ours", INGEST_ID_ATTR: "another-run"},
            {"condition_failed": True},
            "duplicate",
        ),
        ({CONTENT_HASH_ATTR: "sha256:theirs"}, {"condition_failed": True}, "conflict"),
        (
            {CONTENT_HASH_ATTR: "sha256:theirs"},
            {"condition_failed": True, "accept_updates": True},
            "changed meanwhile",
        ),
    ],
)
def test_one_function_decides_what_becomes_of_a_record(stored, options, verdict):
    from ingestion.writing.writer import classify

    options = {"accept_updates": False, **options}
    assert classify(OURS_ITEM, stored, **options) == verdict


def test_a_reingest_neither_measures_nor_serializes_what_it_does_not_write(
    tables, settings, monkeypatch
):
    """Duplicates need only their fingerprint: the size and the wire format are made for a
    record that is to be written, and only then checked."""
    import ingestion.writing.writer as writer_module

    records = [make_metric(n) for n in range(150)]
    ingest(tables, settings, METRIC, records)
    made = []
    real_encode, real_size = writer_module.encode_item, writer_module.item_size
    monkeypatch.setattr(
        writer_module, "encode_item", lambda item: made.append("wire") or real_encode(item)
    )
    monkeypatch.setattr(
        writer_module, "item_size", lambda item: made.append("size") or real_size(item)
    )
    again = ingest(tables, settings, METRIC, [*records, make_metric(500)])
    assert (again.duplicates, again.written) == (150, 1)
    assert made == ["size", "wire"]  # the one new record only


@pytest.mark.parametrize("change", ["offboarding", "moved", "removed"])
def test_an_ingest_asks_the_roster_again_under_its_lease_before_it_writes(tables, settings, change):
    """An ingest that started before a move switched the tenant, or before it was offboarded
    or erased, may have waited for that very operation's lease: once it holds the lease it
    reads the roster again, and writes nothing where the tenant no longer takes data."""
    import dataclasses

    from ingestion.writing.writer import IngestInterruptedError, TenantChangedError
    from tenancy.roster import Roster, TenantStatus, Tier

    tenant = settings.roster.get(ACME)
    if change == "offboarding":
        now = [tenant.model_copy(update={"status": TenantStatus.OFFBOARDING})]
    elif change == "moved":
        now = [tenant.model_copy(update={"tier": Tier.POOL, "copy_left_in": Tier.SILO})]
    else:
        now = []
    others = [t for t in settings.roster if t.tenant_id != ACME]
    later = dataclasses.replace(settings, roster=Roster.model_validate([*now, *others]))
    writer = TenantWriter(tables, settings, ACME, METRIC, reload=lambda: later)
    with pytest.raises(IngestInterruptedError) as stopped:
        writer.ingest(as_source([make_metric(n) for n in range(10)]))
    assert isinstance(stopped.value.cause, TenantChangedError)
    assert stopped.value.report.written == 0 and all_items(tables, METRICS_TABLE) == []
