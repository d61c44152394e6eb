"""How a chunk's classified records reach the table: one strategy per `WriteMode`.

The writer (`ingestion.writing.writer`) reads what is stored, classifies every record and hands the
records to be put to a strategy; the strategy decides which requests carry them (plain batch
puts, conditional transactions) and under which guard (the tenant's writer lease), and says
back what became of each put (`Outcomes`). Adding a way of writing is one class here and one
line in `STRATEGIES`; the classification, the report and the quarantine stay the writer's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol

from ingestion.writing.lease import WriterLease
from ingestion.writing.store import ConditionalPut, PutStatus, TableStore, Writable


class WriteMode(StrEnum):
    # The default: under the table's writer lease (`ingestion.writing.lease`), plain batch puts
    # at one write unit a record, exact with any number of concurrent leased writers.
    LEASED = "leased"
    # No conditions: a bulk load with no other writer (concurrent writers could count a record
    # twice or let the later of two versions win). A tenant's writes still hold its lease,
    # so that a move or an erasure fences them out (`ingestion.writing.lease.Fence`).
    BATCH = "batch"
    # A conditional transaction per chunk (two write units a record), exact without the lease's
    # help. Kept for the tenants-metadata table, whose few writes take no lease.
    TRANSACTIONAL = "transactional"


class Outcomes(Protocol):
    """What a strategy says back about each put; the writer counts and quarantines."""

    def stored(self, candidate: Writable, *, updated: bool) -> None:
        """The record is in the table (an accepted update when `updated`)."""

    def refused(self, candidate: Writable, reason: str | None) -> None:
        """DynamoDB refused the item itself."""

    def changed(self, put: ConditionalPut, stored: dict[str, Any] | None) -> ConditionalPut | None:
        """The put's condition failed: the stored item changed since it was read. Returns
        the put to send again, or None once the record is judged."""


class WriteStrategy(ABC):
    """Puts classified records into one table, and reports each through `Outcomes`."""

    def __init__(self, store: TableStore, lease: WriterLease | None):
        self.store = store
        self.lease = lease

    def read_is_guarded(self) -> bool:
        """Whether what is read now stays what is stored until this strategy writes (asked
        before a chunk's stored items are read)."""
        return False

    def guard(self) -> bool:
        """Make what is read from now on stay what is stored until this strategy writes it,
        if it can (whether it could). The writer then reads again what it is to put, rather
        than have it put under conditions at twice the write cost."""
        return False

    @abstractmethod
    def write(self, puts: list[ConditionalPut], outcomes: Outcomes, *, guarded: bool) -> None:
        """Write `puts` (new records, and accepted updates with the hash they replace);
        `guarded` is what `read_is_guarded` said before the chunk's read."""

    def _fence(self) -> Callable[[], None] | None:
        """Asked before each request: the lease is still held (a move or an erasure that
        fenced the tenant stops the write), when there is one."""
        return self.lease.ensure if self.lease is not None else None

    def _conditionally(self, puts: list[ConditionalPut], outcomes: Outcomes) -> None:
        """Conditional transactions until every put is judged: one whose condition failed
        is classified again against the item that failed it, and sent again if still due."""
        fence = self._fence()
        while puts:
            retry: list[ConditionalPut] = []
            if fence is not None:
                fence()
            for result in self.store.put_conditional(puts):
                if result.status is PutStatus.APPLIED:
                    outcomes.stored(result.put.candidate, updated=_is_update(result.put))
                elif result.status is PutStatus.FAILED:
                    outcomes.refused(result.put.candidate, result.reason)
                else:  # the stored item changed since it was read
                    again = outcomes.changed(result.put, result.stored)
                    if again is not None:
                        retry.append(again)
            puts = retry

    def _plainly(self, puts: list[ConditionalPut], outcomes: Outcomes) -> None:
        """Unconditional batch puts, each request only while the fence holds; an accepted
        update among them is counted as one."""
        updates = {id(put.candidate) for put in puts if _is_update(put)}  # the very objects

        def stored(group) -> None:
            for candidate in group:
                outcomes.stored(candidate, updated=id(candidate) in updates)

        refused = self.store.put_batch(
            [put.candidate for put in puts], before_request=self._fence(), on_stored=stored
        )
        for candidate, reason in refused:
            outcomes.refused(candidate, reason)


class Transactional(WriteStrategy):
    """Every put conditional: exact beside any writer, at two write units a record."""

    def write(self, puts, outcomes, *, guarded):
        self._conditionally(puts, outcomes)


class Batch(WriteStrategy):
    """New records in plain batches (exact for a single writer only); accepted updates still
    only over the version read."""

    def write(self, puts, outcomes, *, guarded):
        self._plainly([put for put in puts if not _is_update(put)], outcomes)
        self._conditionally([put for put in puts if _is_update(put)], outcomes)


class Leased(WriteStrategy):
    """Under the table's writer lease, what was read is still what is stored: plain puts. A
    chunk read before the lease was held has the lease taken (`guard`), and the writer reads
    its puts again under it; a caller that does not read again gets conditional puts, which
    catch anything written before the lease was held. Either way no other leased writer is
    between a read and its write."""

    def __init__(self, store: TableStore, lease: WriterLease | None):
        if lease is None:
            raise ValueError("the leased mode writes under a lease")
        super().__init__(store, lease)

    def read_is_guarded(self) -> bool:
        return self.lease.held

    def guard(self) -> bool:
        self.lease.ensure()
        return True

    def write(self, puts, outcomes, *, guarded):
        if not puts:
            return
        if guarded:
            self._plainly(puts, outcomes)
            return
        # read by a caller that did not read again under the lease: conditions catch
        # anything written between that read and the lease
        self.lease.ensure()
        self._conditionally(puts, outcomes)


STRATEGIES: dict[WriteMode, type[WriteStrategy]] = {
    WriteMode.LEASED: Leased,
    WriteMode.BATCH: Batch,
    WriteMode.TRANSACTIONAL: Transactional,
}


def strategy_for(mode: WriteMode, store: TableStore, lease: WriterLease | None) -> WriteStrategy:
    return STRATEGIES[WriteMode(mode)](store, lease)


def _is_update(put: ConditionalPut) -> bool:
    return put.expected_hash is not None
