"""Idempotent, batched, tenant-bound writes.

Every record is classified against what is stored under its key: absent (write it), the same
content (a duplicate: nothing to do), different content (a conflict: keep the stored one, report
it, or replace it when the caller accepts updates and the kind allows it). Classification reads
stored items in batches (BatchGetItem); how the records to be put then reach the table is a
write strategy's (`ingestion.writing.strategies`: under the writer lease by default, plain
batches, or conditional transactions). Where a put is conditional, a record written by a
concurrent writer between the read and the write is detected by DynamoDB itself and classified
again from the stored item the failed condition returns: each record is stored once and
counted once, whatever runs beside it.

In the default leased mode the first chunk is read before the lease is held (a re-ingest,
which writes nothing, never takes it); what that chunk is to put is read again under the lease,
so every new record is put plainly at one write unit.

Accepted updates are optimistic: a restated record replaces only the version this run read.
If another writer changes the item between that read and this write, the change is theirs to
keep: the record becomes a conflict ("changed by another writer during this run"), never a
silent overwrite, and the report says so.

Every record is validated on the reading thread, and a record that breaks its contract is
rejected and quarantined there and then, so what a chunk holds is bounded by the chunk size
whatever the input holds. A record that is to be written is measured and serialized first
(`Candidate.storage_errors`), and refused alone if DynamoDB could not take it; a duplicate
needs neither, which keeps a re-ingest to reads and fingerprints.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ValidationError

from ingestion.records.items import (
    CONTENT_HASH_ATTR,
    INGEST_ID_ATTR,
    MAX_ITEM_BYTES,
    RecordKind,
    UnstorableAttributeError,
    encode_item,
    item_size,
    largest_field,
)
from ingestion.records.sources import InputFileError, Quarantine, SourceRecord
from ingestion.writing.backoff import RetryBudgetExhaustedError
from ingestion.writing.ingest_report import Conflict, FieldError, IngestReport, Outcome, Rejection
from ingestion.writing.lease import (
    Holder,
    LeaseBusyError,
    LeaseLostError,
    TenantFencedError,
    WriterLease,
)
from ingestion.writing.store import (
    BATCH_GET_LIMIT,
    TRANSACTION_BYTES_LIMIT,
    ConditionalPut,
    TableStore,
)
from ingestion.writing.strategies import WriteMode, WriteStrategy, strategy_for
from tenancy.budgets import RETRY_POLICY, RetryPolicy
from tenancy.errors import Failed, Refused
from tenancy.settings import StackSettings
from tenancy.tables import tenant_tables
from tenancy.validation_errors import dotted, field_errors

CHUNK_SIZE = BATCH_GET_LIMIT  # one BatchGetItem of keys per chunk, one transaction of items
# A chunk also closes at this many bytes of items (large records), and at this many records
# read (a file of bad lines): what is held per chunk stays bounded by the chunk size.
CHUNK_BYTES = TRANSACTION_BYTES_LIMIT
CHUNK_RECORDS_READ = 10 * CHUNK_SIZE
# Chunks classified and written at once: while DynamoDB works on some, this client prepares
# and sends the next, instead of the two taking turns. With 2, the embedded server was idle
# almost half of a re-ingest; on DynamoDB Local 8 ingest 13% faster than 4, and 16 no faster
# than 8 (benchmarks/HISTORY.md).
CHUNKS_IN_FLIGHT = 8
# What classifying a stored item needs (with its key): a stored item's content hash tells new,
# duplicate and changed records apart. Which ingest wrote it matters only when a transaction's
# condition fails, and that item comes back whole.
FINGERPRINT = (CONTENT_HASH_ATTR,)


class TenantChangedError(Failed, RuntimeError):
    """Since this ingest started, the tenant moved to another tier, stopped taking data or
    left the roster: found under the lease, before anything more was written."""


# What ends an ingest part-way, with an exact report: DynamoDB unreachable or refusing the
# table, the throttling budget spent, the input breaking, the quarantine unwritable.
STOPS_AN_INGEST = (
    BotoCoreError,
    ClientError,
    RetryBudgetExhaustedError,
    InputFileError,
    OSError,
    LeaseBusyError,
    LeaseLostError,
    TenantFencedError,
    TenantChangedError,
)


class TenantNotWritableError(Refused, PermissionError):
    """The tenant is suspended or offboarding."""


class IngestInterruptedError(Failed, RuntimeError):
    """Ingestion stopped part-way (budget spent, endpoint gone); carries what was done."""

    def __init__(self, cause: BaseException, report: IngestReport):
        self.cause = cause
        self.report = report
        why = "interrupted" if isinstance(cause, KeyboardInterrupt) else str(cause)
        super().__init__(
            f"{why}. Ingestion stopped after {report.handled:,} of the records read "
            f"({report.written:,} written, {report.duplicates:,} duplicates, "
            f"{report.updated:,} updated, {report.conflicts:,} conflicts, "
            f"{report.rejected:,} rejected); every record it reported as written is stored. "
            "Run the same command again to resume: records already stored count as duplicates."
        )


class TenantWriter:
    """Writes one tenant's records of one kind; refuses records of any other tenant.

    The tenant must be in the stack's roster: an unknown tenant is an error before anything is
    read or written.
    """

    def __init__(
        self,
        client,
        settings: StackSettings,
        tenant_id: str,
        kind: RecordKind,
        *,
        accept_updates: bool = False,
        mode: WriteMode = WriteMode.LEASED,
        policy: RetryPolicy = RETRY_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], str] | None = None,
        on_wait: Callable[[Holder], None] | None = None,
        reload: Callable[[], StackSettings] | None = None,
    ):
        self.tenant = settings.roster.get(tenant_id)  # UnknownTenantError if not onboarded
        if not self.tenant.status.accepts_writes:
            raise TenantNotWritableError(
                f"tenant {tenant_id!r} is {self.tenant.status}: it takes no new data "
                "(set its status to active in the roster to ingest again)"
            )
        table = tenant_tables(settings, self.tenant)[kind.layout.kind]
        self.kind = kind = kind.stored_in(table.layout)
        self.table_name = table.name
        self.store = TableStore(client, self.table_name, kind, policy=policy, sleep=sleep, rng=rng)
        self.ingest_id = uuid.uuid4().hex
        # Every mode writes under the tenant's writer lease: the leased mode to write plainly,
        # the others to be fenced out while the tenant's data moves or is erased.
        self.lease = WriterLease(
            client,
            self.table_name,
            kind,
            tenant_id,
            owner=self.ingest_id,
            sleep=sleep,
            on_wait=on_wait,
            on_acquired=(lambda: self._still_here(reload())) if reload else None,
        )
        self.writer = IdempotentWriter(
            self.store,
            kind,
            tenant_id=tenant_id,
            accept_updates=accept_updates,
            mode=mode,
            lease=self.lease,
        )
        self.clock = clock or utc_now  # ingestedAt: one time per second (see _UtcSecond)

    def _still_here(self, settings: StackSettings) -> None:
        """Under a freshly taken lease, before anything is written: the tenant, as the stack
        file says now (`reload`), still takes data into this very table. The roster is read
        again because a move switches it while holding this lease, and an ingest that
        started before may have waited for that move."""
        tenant_id = self.tenant.tenant_id
        try:
            tenant = settings.roster.get(tenant_id)
        except LookupError:
            raise TenantChangedError(f"tenant {tenant_id!r} left the roster") from None
        if not tenant.status.accepts_writes:
            raise TenantChangedError(f"tenant {tenant_id!r} is now {tenant.status}")
        table = tenant_tables(settings, tenant)[self.kind.layout.kind].name
        if table != self.table_name:
            raise TenantChangedError(
                f"tenant {tenant_id!r} now lives in {table}, not {self.table_name}"
            )

    def validate(self, source: SourceRecord) -> Candidate | list[FieldError]:
        """A candidate, or the reasons the record is refused (each naming its field)."""
        if source.error is not None:
            return [source.error]
        if not isinstance(source.data, dict):
            return [FieldError("(record)", "must be a JSON object")]
        try:
            record = self.kind.model.model_validate(source.data)
        except ValidationError as exc:
            return format_errors(exc)
        if record.tenant_id != self.tenant.tenant_id:
            return [
                FieldError(
                    "tenantId",
                    f"is {record.tenant_id!r}, but this ingest writes tenant "
                    f"{self.tenant.tenant_id!r} only",
                )
            ]
        return candidate_for(self.kind, source, record, self.clock(), self.ingest_id)

    def ingest(
        self,
        records: Iterable[SourceRecord],
        *,
        quarantine: Quarantine | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """Validate and write every record; bad ones are quarantined, good ones all land.

        `progress` is called with the number of records read so far after each chunk.

        Three things overlap, so that neither this client nor DynamoDB waits for the other:
        one thread reads and validates the input a few chunks ahead, and up to CHUNKS_IN_FLIGHT
        chunks are classified and written at once. A chunk that shares a key with a chunk in
        flight waits for it, so a repeated key is still judged against what the earlier one
        stored, exactly as in a sequential run. Each chunk counts into its own report, merged
        here in input order; a chunk that fails (or input that breaks part-way) stops the
        ingest once the others in flight are done, and the report then says exactly what
        was written.
        """
        try:
            return self._ingest(records, quarantine, progress)
        finally:
            if self.lease is not None:
                with contextlib.suppress(*STOPS_AN_INGEST):  # it expires on its own anyway
                    self.lease.release()

    def _ingest(self, records, quarantine, progress) -> IngestReport:
        report = IngestReport(kind=self.kind.name, tenant_id=self.tenant.tenant_id)
        chunks = self._validated_chunks(records, quarantine)
        in_flight: deque[ChunkWrite] = deque()
        with (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="validate") as reader,
            ThreadPoolExecutor(max_workers=CHUNKS_IN_FLIGHT, thread_name_prefix="write") as pool,
        ):
            upcoming: deque[Future[ValidatedChunk | None]] = deque()
            try:
                # The one reader thread takes these in turn: CHUNKS_IN_FLIGHT chunks ahead.
                upcoming.extend(reader.submit(next, chunks, None) for _ in range(CHUNKS_IN_FLIGHT))
                first_done = False
                while (chunk := upcoming.popleft().result()) is not None:
                    upcoming.append(reader.submit(next, chunks, None))
                    report.merge(chunk.report)
                    while in_flight and (
                        len(in_flight) == CHUNKS_IN_FLIGHT
                        or any(chunk.keys & earlier.keys for earlier in in_flight)
                        # the first chunk says whether this ingest writes (and takes the
                        # lease): the others then read under it, and write plainly
                        or not first_done
                    ):
                        in_flight[0].collect(report)  # popped once counted
                        in_flight.popleft()
                        first_done = True
                        if progress:
                            progress(report.received)
                    if chunk.candidates:
                        in_flight.append(ChunkWrite.start(pool, self.writer, chunk, quarantine))
                while in_flight:
                    in_flight[0].collect(report)
                    in_flight.popleft()
                if progress:
                    progress(report.received)
            except (*STOPS_AN_INGEST, KeyboardInterrupt) as exc:
                # Ctrl-C too: the chunks in flight finish, so the report is exact.
                for rest in in_flight:  # what the others wrote counts too
                    with contextlib.suppress(*STOPS_AN_INGEST):
                        rest.collect(report)
                for pending in upcoming:  # the reader must not go on behind our back
                    pending.cancel()
                self._finish(report, quarantine)
                raise IngestInterruptedError(exc, report) from exc
        self._finish(report, quarantine)
        return report

    def _finish(self, report: IngestReport, quarantine: Quarantine | None) -> None:
        report.throttle_retries = self.store.throttle_retries
        if quarantine is not None and quarantine.written:
            report.quarantine = quarantine.path

    def _validated_chunks(
        self, records: Iterable[SourceRecord], quarantine: Quarantine | None
    ) -> Iterator[ValidatedChunk]:
        """Chunks of valid records, bounded by CHUNK_SIZE records, CHUNK_BYTES of items and
        CHUNK_RECORDS_READ records read; invalid ones are quarantined on the way."""
        chunk = self._new_chunk()
        try:
            for source in records:
                chunk.report.received += 1
                checked = self.validate(source)
                if isinstance(checked, Candidate):
                    chunk.candidates.append(checked)
                    chunk.keys.add(checked.key)
                    chunk.item_bytes += len(source.raw or "")
                else:
                    reject(source, checked, chunk.report, quarantine)
                if chunk.full():
                    yield chunk
                    chunk = self._new_chunk()
        except InputFileError:
            if chunk.report.received:  # the records read before the input broke still land
                yield chunk
            raise
        if chunk.report.received:
            yield chunk

    def _new_chunk(self) -> ValidatedChunk:
        return ValidatedChunk(IngestReport(kind=self.kind.name, tenant_id=self.tenant.tenant_id))


@dataclass
class ValidatedChunk:
    """Records read and checked, waiting for the writer. The refused ones were quarantined
    as they were read; the chunk carries only their count and reasons."""

    report: IngestReport
    candidates: list[Candidate] = field(default_factory=list)
    keys: set[tuple[Any, ...]] = field(default_factory=set)
    item_bytes: int = 0  # of the records' text as received: what the chunk holds

    def full(self) -> bool:
        return (
            len(self.candidates) >= CHUNK_SIZE
            or self.item_bytes >= CHUNK_BYTES
            or self.report.received >= CHUNK_RECORDS_READ
        )


@dataclass
class ChunkWrite:
    """One chunk being classified and written on a worker thread."""

    keys: set[tuple[Any, ...]]
    future: Future[IngestReport]
    collected: bool = False  # its count is in the total: never added twice

    @classmethod
    def start(cls, pool, writer: IdempotentWriter, chunk: ValidatedChunk, quarantine):
        return cls(chunk.keys, pool.submit(writer.write, chunk.candidates, quarantine))

    def collect(self, total: IngestReport) -> None:
        """Wait for the chunk and add what it did to `total`, also when it stopped part-way
        (then its error is raised, once its count is in). Waiting can be interrupted (Ctrl-C):
        the chunk is then still to be collected."""
        if self.collected:
            return
        try:
            report = self.future.result()
        except ChunkStoppedError as stopped:
            self.collected = True
            total.merge(stopped.report)
            raise stopped.cause from None
        self.collected = True
        total.merge(report)


class ChunkStoppedError(Exception):
    """A chunk's write stopped part-way: `cause` says why, `report` what it did before."""

    def __init__(self, cause: Exception, report: IngestReport):
        super().__init__(str(cause))
        self.cause = cause
        self.report = report


class IdempotentWriter:
    """Classifies and writes chunks of candidates into one table."""

    def __init__(
        self,
        store: TableStore,
        kind: RecordKind,
        *,
        accept_updates: bool = False,
        tenant_id: str,
        mode: WriteMode = WriteMode.TRANSACTIONAL,
        lease: WriterLease | None = None,
    ):
        if accept_updates and not kind.updatable:
            raise ValueError(f"a stored {kind.name} is immutable: updates cannot be accepted")
        self.store = store
        self.kind = kind
        self.tenant_id = tenant_id
        self.accept_updates = accept_updates
        self.strategy: WriteStrategy = strategy_for(mode, store, lease)

    def write(
        self, candidates: list[Candidate], quarantine: Quarantine | None = None
    ) -> IngestReport:
        """Write candidates in input order and say what became of each. A key that repeats
        starts a new segment, so the repeat is classified against the table after its
        earlier occurrence was written, exactly as it would be a chunk later.

        Stopped part-way, it raises ChunkStoppedError with what it did before: every record
        that report counts as written is stored."""
        report = IngestReport(kind=self.kind.name, tenant_id=self.tenant_id)
        segment: dict[tuple[Any, ...], Candidate] = {}
        try:
            for candidate in candidates:
                key = candidate.key
                if key in segment:
                    self._write_unique(segment, report, quarantine)
                    segment = {}
                segment[key] = candidate
            if segment:
                self._write_unique(segment, report, quarantine)
        except STOPS_AN_INGEST as exc:
            raise ChunkStoppedError(exc, report) from exc
        return report

    def _write_unique(
        self,
        unique: dict[tuple[Any, ...], Candidate],
        report: IngestReport,
        quarantine: Quarantine | None,
    ) -> None:
        guarded = self.strategy.read_is_guarded()  # asked before the read it vouches for
        puts = self._classify(unique, report, quarantine)
        if puts and not guarded and self.strategy.guard():
            # Read before the guard (the first chunk of an ingest, which reads before it
            # knows whether it writes at all: a re-ingest takes no lease and writes nothing).
            # What is to be put is read again under the guard, one BatchGetItem, and then put
            # plainly at one write unit a record, instead of conditionally at two.
            again = {put.candidate.key: put.candidate for put in puts}
            puts = self._classify(again, report, quarantine)
            guarded = True
        self.strategy.write(puts, _ChunkOutcomes(self, report, quarantine), guarded=guarded)

    def _classify(
        self,
        unique: dict[tuple[Any, ...], Candidate],
        report: IngestReport,
        quarantine: Quarantine | None,
    ) -> list[ConditionalPut]:
        """Judge each record against what is stored now; count the duplicates and conflicts
        (and refuse what DynamoDB could not store), and return the puts still due."""
        # Fingerprints are enough to tell new, duplicate and changed records apart; whole
        # items are read only for the conflicts, whose differing fields the report names.
        stored = self.store.fetch(
            [self.kind.key_dict(c.item) for c in unique.values()], attributes=FINGERPRINT
        )
        puts: list[ConditionalPut] = []
        conflicts: dict[tuple[Any, ...], Candidate] = {}
        for key, candidate in unique.items():
            existing = stored.get(key)
            verdict = classify(candidate.item, existing, accept_updates=self.accept_updates)
            if verdict in (Verdict.WRITE, Verdict.UPDATE):
                errors = candidate.storage_errors()
                if errors:  # refused alone, before any request it would travel in
                    reject(candidate.source, errors, report, quarantine)
                    continue
            if verdict is Verdict.WRITE:
                puts.append(ConditionalPut(candidate))
            elif verdict is Verdict.DUPLICATE:
                report.count(Outcome.DUPLICATE)
            elif verdict is Verdict.UPDATE:
                puts.append(ConditionalPut(candidate, existing.get(CONTENT_HASH_ATTR)))
            else:
                conflicts[key] = candidate
        if conflicts:
            whole = self.store.fetch([self.kind.key_dict(c.item) for c in conflicts.values()])
            for key, candidate in conflicts.items():
                self._conflict(candidate, whole.get(key, stored[key]), report, quarantine)
        return puts

    def reconsider(self, put: ConditionalPut, stored, report, quarantine) -> ConditionalPut | None:
        """A put whose condition failed: another write reached the item since it was read."""
        candidate = put.candidate
        verdict = classify(
            candidate.item,
            stored,
            accept_updates=self.accept_updates,
            condition_failed=True,
            expected_hash=put.expected_hash,
        )
        if verdict is Verdict.WRITE:  # it was there and is gone again: insert it
            return ConditionalPut(candidate)
        if verdict is Verdict.OURS:
            report.count(Outcome.WRITTEN if put.expected_hash is None else Outcome.UPDATED)
        elif verdict is Verdict.DUPLICATE:
            report.count(Outcome.DUPLICATE)
        else:
            concurrent = verdict is Verdict.CHANGED_MEANWHILE
            self._conflict(candidate, stored or {}, report, quarantine, concurrent=concurrent)
        return None

    def refused(self, candidate: Candidate, reason, report, quarantine) -> None:
        error = FieldError("(record)", f"refused by DynamoDB: {reason}")
        reject(candidate.source, [error], report, quarantine)

    def _conflict(
        self,
        candidate: Candidate,
        stored: dict[str, Any],
        report: IngestReport,
        quarantine: Quarantine | None,
        *,
        concurrent: bool = False,
    ) -> None:
        fields = self.kind.record_fields(candidate.record)
        known = set(fields) | (set(stored) - self.kind.bookkeeping())
        differing = tuple(sorted(name for name in known if fields.get(name) != stored.get(name)))
        conflict = Conflict(
            candidate.location, self.kind.record_key(candidate.record), differing, concurrent
        )
        report.add_conflict(conflict)
        if quarantine is not None:
            quarantine.conflict(candidate.source, conflict)


@dataclass
class _ChunkOutcomes:
    """A strategy's word on each put, counted into the chunk's report (and quarantine)."""

    writer: IdempotentWriter
    report: IngestReport
    quarantine: Quarantine | None

    def stored(self, candidate: Candidate, *, updated: bool) -> None:
        self.report.count(Outcome.UPDATED if updated else Outcome.WRITTEN)

    def refused(self, candidate: Candidate, reason: str | None) -> None:
        self.writer.refused(candidate, reason, self.report, self.quarantine)

    def changed(self, put: ConditionalPut, stored: dict[str, Any] | None) -> ConditionalPut | None:
        return self.writer.reconsider(put, stored, self.report, self.quarantine)


class Verdict(StrEnum):
    """What to do with a record, given what is stored under its key."""

    WRITE = "write"  # nothing is stored: put it
    DUPLICATE = "duplicate"  # the same content is stored: nothing to do
    OURS = "ours"  # this very run stored it (a retried write whose response was lost)
    UPDATE = "update"  # other content, and the caller accepts updates: replace that version
    CONFLICT = "conflict"  # other content: keep it, report the record
    CHANGED_MEANWHILE = "changed meanwhile"  # another writer changed it after this run read it


def classify(
    item: dict[str, Any],
    stored: dict[str, Any] | None,
    *,
    accept_updates: bool,
    condition_failed: bool = False,
    expected_hash: str | None = None,
) -> Verdict:
    """The one decision of idempotent ingestion, for a record's `item` against the `stored`
    one (its fingerprint, at least): when first read, and again when a conditional put's
    condition failed because the item changed between that read and the write."""
    if stored is None:
        if condition_failed and expected_hash is not None:
            return Verdict.CHANGED_MEANWHILE  # deleted since it was read: the deletion stands
        return Verdict.WRITE
    if stored.get(CONTENT_HASH_ATTR) == item[CONTENT_HASH_ATTR]:
        if condition_failed and stored.get(INGEST_ID_ATTR) == item[INGEST_ID_ATTR]:
            return Verdict.OURS
        return Verdict.DUPLICATE
    if condition_failed:
        # Someone else's version: an update replaces only the version this run read.
        return Verdict.CHANGED_MEANWHILE if accept_updates else Verdict.CONFLICT
    return Verdict.UPDATE if accept_updates else Verdict.CONFLICT


@dataclass(frozen=True)
class Candidate:
    """A valid record on its way to the table, in every form the write needs.

    Its size and wire format are worked out only for a record that is to be written (a
    re-ingest, all duplicates, needs neither), and `storage_errors` checks both before it is.
    """

    source: SourceRecord
    record: BaseModel
    item: dict[str, Any]
    key: tuple[Any, ...]  # the item's table key, as RecordKind.key_of gives it

    @property
    def location(self) -> str:
        return self.source.location

    @cached_property
    def size(self) -> int:
        """The item's size by DynamoDB's rules."""
        return item_size(self.item)

    @cached_property
    def wire(self) -> bytes:
        """The item in DynamoDB's wire format, as JSON bytes (`storage_errors` has checked
        it can be)."""
        return encode_item(self.item)

    def storage_errors(self) -> list[FieldError]:
        """Why DynamoDB could not take this item (too large by its own size rule, or an
        attribute its wire format cannot carry), each naming its field; empty when it can."""
        if self.size > MAX_ITEM_BYTES:
            return [
                FieldError(
                    largest_field(self.item),
                    f"makes the item {self.size:,} bytes, over DynamoDB's 400 KB item limit",
                )
            ]
        try:
            self.wire  # noqa: B018 - made once, here, so a refusal is this record's alone
        except UnstorableAttributeError as exc:
            return [FieldError(exc.name, exc.reason)]
        return []


def candidate_for(
    kind: RecordKind, source: SourceRecord, record: BaseModel, ingested_at: str, ingest_id: str
) -> Candidate:
    """The valid record as the item it will be stored as."""
    item = kind.to_item(record, ingested_at, ingest_id)
    return Candidate(source, record, item, kind.key_of(item))


def reject(
    source: SourceRecord,
    errors: list[FieldError],
    report: IngestReport,
    quarantine: Quarantine | None,
) -> None:
    """Count a refused record, say why, and keep it as received for a later fix."""
    report.add_rejection(Rejection(source.location, tuple(errors)))
    if quarantine is not None:
        quarantine.reject(source, errors)


def format_errors(exc: ValidationError) -> list[FieldError]:
    return [FieldError(dotted(loc) or "(record)", why) for loc, why in field_errors(exc)]


class _UtcSecond:
    """The current UTC second in ISO 8601, as `ingestedAt` stores it. It is asked for once per
    record, so the text is made once per second: formatting a datetime each time cost 7% of
    validating a record."""

    def __init__(self) -> None:
        self._last = (0, "")  # (second, text), replaced whole: safe to read from any thread

    def __call__(self) -> str:
        second = int(time.time())
        if second != self._last[0]:
            text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._last = (second, text)
        return self._last[1]


utc_now = _UtcSecond()
