"""A tenant's records copied between its two tiers, compared, and the copy left behind
deleted: the data half of a move (`ingestion.lifecycle.move` orders the steps).

Only the tenant's own valid records travel (`TenantData.records`: found under its keys, naming
it, composed keys agreeing, valid by the contract, and stored under the key its fields make).
A copy is rebuilt from the record, never from the item: its keys, tenant index shard, record
key and content hash are worked out again from the record's fields and the moving tenant's
id, exactly as an ingest of that record would store it; only `ingestedAt` and `ingestId`
(lineage) are carried over. Comparisons recompute each side's content hash from its stored
record, so a stored fingerprint (which its writer chose) proves nothing by itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ingestion.lifecycle.errors import OperationFailed
from ingestion.lifecycle.failpoints import failpoint
from ingestion.lifecycle.tenant_data import TenantData
from ingestion.reading.ownership import Refusals, Refused, record_of
from ingestion.records.items import (
    CONTENT_HASH_ATTR,
    INGEST_ID_ATTR,
    INGESTED_AT_ATTR,
    RECORD_KEY_ATTR,
    TENANT_DATA_KINDS,
    RecordKind,
    content_hash,
    encode_item,
    item_size,
)
from ingestion.writing.store import BATCH_GET_LIMIT, BATCH_WRITE_LIMIT
from ingestion.writing.writer import utc_now
from tenancy.roster import Tier
from tenancy.settings import StackSettings
from tenancy.tables import tier_tables

CHUNK = BATCH_GET_LIMIT  # records copied per round: one BatchGetItem of the target's keys
SHOWN = 5  # record keys a difference lists


@dataclass(frozen=True)
class _Copy:
    """One item as the target tier stores it (the store's `Writable`)."""

    item: dict[str, Any]
    wire: bytes
    size: int


@dataclass
class KindCopy:
    """What a copy did for one kind of record."""

    kind: str
    source_table: str
    target_table: str
    read: int = 0
    copied: int = 0
    already_there: int = 0

    def describe(self) -> str:
        return (
            f"{self.kind}: {self.read:,} read from {self.source_table}, {self.copied:,} "
            f"written to {self.target_table}, {self.already_there:,} already there"
        )


@dataclass
class Difference:
    """Two tiers' records of one kind compared by record key and recomputed content hash."""

    kind: str
    source_records: int = 0
    target_records: int = 0
    missing: list[str] = field(default_factory=list)  # in the source, not (alike) in the target
    extra: list[dict[str, Any]] = field(default_factory=list)  # target keys not in the source

    @property
    def equal(self) -> bool:
        return not self.missing and not self.extra

    def describe(self) -> str:
        if self.equal:
            return f"{self.kind}: {self.source_records:,} records, the same in both tiers"
        shown = ", ".join(self.missing[:SHOWN])
        return (
            f"{self.kind}: {self.source_records:,} in the source, {self.target_records:,} in "
            f"the target; {len(self.missing):,} missing or different"
            + (f" (e.g. {shown})" if shown else "")
            + f", {len(self.extra):,} only in the target"
        )


class RecordDigest:
    """An order-free digest of a tenant's records: the sum, modulo 2**256, of the SHA-256 of
    each (record key, content hash) pair. Two reads of the same records in any order give the
    same digest, and a record added, removed or restated changes it, in constant memory."""

    def __init__(self) -> None:
        self.count = 0
        self._sum = 0

    def add(self, record_key: str, content: str) -> None:
        pair = hashlib.sha256(f"{record_key}\t{content}".encode()).digest()
        self._sum = (self._sum + int.from_bytes(pair)) % (1 << 256)
        self.count += 1

    def hexdigest(self) -> str:
        return f"{self._sum:064x}"


class Copier:
    """Copies and compares one tenant's records between its tiers, reporting every item it
    does not take as the tenant's record in `refusals`."""

    def __init__(
        self,
        client,
        settings: StackSettings,
        tenant_id: str,
        *,
        refusals: Refusals | None = None,
        heartbeat: Callable[[], None] = lambda: None,
        operation_id: str = "copy",
    ):
        self.client = client
        self.settings = settings
        self.tenant_id = tenant_id
        self.refusals = refusals if refusals is not None else Refusals(tenant_id)
        self.heartbeat = heartbeat
        self.operation_id = operation_id

    def data(self, tier: Tier, kind: RecordKind) -> TenantData:
        table = tier_tables(self.settings, self.tenant_id, tier)[kind.layout.kind]
        return TenantData.of(self.client, table, kind, self.refusals, heartbeat=self.heartbeat)

    # --- copy ---

    def copy(self, source: Tier, target: Tier, *, newer_only: bool = False) -> list[KindCopy]:
        """Write into `target` each of the tenant's records in `source` that the target lacks
        or holds otherwise; with `newer_only`, a record the target holds is replaced only by
        a source version ingested later (a catch-up after the switch, where the target
        serves and may hold newer restatements)."""
        reports = []
        for kind in TENANT_DATA_KINDS:
            origin, into = self.data(source, kind), self.data(target, kind)
            report = KindCopy(kind.plural, origin.name, into.name)
            reports.append(report)
            if not origin.exists():
                continue
            for batch in chunked(self._restored(origin, into), CHUNK):
                report.read += len(batch)
                self._write(into, batch, report, newer_only)
        return reports

    def _restored(self, origin: TenantData, into: TenantData) -> Iterator[dict[str, Any]]:
        """Each valid record of `origin` as `into` would store it."""
        for _, record, lineage in self.checked(origin):
            yield into.kind.to_item(record, *lineage)

    def checked(self, data: TenantData) -> Iterator[tuple[dict[str, Any], Any, tuple[str, str]]]:
        """The tenant's records in `data` that a copy may carry: (item, record, lineage). An
        item stored under another key than its fields make (written by hand) is refused: its
        copy would land under a key nobody stored it under."""
        for item, record in data.records():
            ingested_at = item.get(INGESTED_AT_ATTR)
            ingest_id = item.get(INGEST_ID_ATTR)
            lineage = (
                ingested_at if isinstance(ingested_at, str) else utc_now(),
                ingest_id if isinstance(ingest_id, str) else self.operation_id,
            )
            own = data.kind.to_item(record, *lineage)
            if data.kind.key_dict(own) != data.kind.key_dict(item):
                key = data.kind.key_dict(item)
                why = f"stored under that key, but its fields make {data.kind.key_dict(own)}"
                self.refusals.add(Refused(data.name, key, why))
                continue
            yield item, record, lineage

    def _write(self, into: TenantData, batch: list[dict[str, Any]], report, newer_only) -> None:
        store = into.store()
        there = store.fetch([into.kind.key_dict(c) for c in batch])
        due = [
            c
            for c in batch
            if self._due(into, c, there.get(into.kind.key_of(c)), newer_only=newer_only)
        ]
        refused = store.put_batch(
            [_Copy(c, encode_item(c), item_size(c)) for c in due], before_request=self.heartbeat
        )
        if refused:
            copy, why = refused[0]
            raise OperationFailed(
                f"{into.name} refused the copy of {copy.item[RECORD_KEY_ATTR]!r}: {why}"
            )
        report.copied += len(due)
        report.already_there += len(batch) - len(due)
        failpoint("copy:chunk")

    def _due(self, into: TenantData, copy, stored, *, newer_only: bool) -> bool:
        """Whether the target must be written: it lacks the record, or holds it otherwise
        than the copy would (another content, other keys or bookkeeping, or an item that is
        not the tenant's valid record at all)."""
        if stored is None:
            return True
        if _settled(into, copy, stored):
            return False
        if not newer_only or not _is_record(into, stored):
            return True
        return str(copy[INGESTED_AT_ATTR]) > str(stored.get(INGESTED_AT_ATTR, ""))

    # --- compare ---

    def compare(self, source: Tier, target: Tier) -> list[Difference]:
        """Both tiers' records, kind by kind: equal when the target holds every source record
        with the same content and nothing else of the tenant's. The source's fingerprints are
        held (16 bytes of hash per record key) and the target streamed past them, so a
        tenant's records are never held twice."""
        differences = []
        for kind in TENANT_DATA_KINDS:
            origin, into = self.data(source, kind), self.data(target, kind)
            have = dict(self._fingerprints(origin))
            difference = Difference(kind.plural, source_records=len(have))
            for record_key, digest, key in self._fingerprints(into, with_keys=True):
                difference.target_records += 1
                held = have.pop(record_key, None)
                if held is None:
                    difference.extra.append(key)
                elif held != digest:
                    difference.missing.append(record_key)
            difference.missing.extend(have)  # in the source, not in the target at all
            difference.missing.sort()
            differences.append(difference)
        return differences

    def _fingerprints(self, data: TenantData, *, with_keys: bool = False) -> Iterator[Any]:
        """(record key, 16 bytes of the content hash recomputed from the stored record), and
        the primary key with `with_keys`, for each of the tenant's records in `data`."""
        if not data.exists():
            return
        for item, record, _ in self.checked(data):
            digest = bytes.fromhex(content_hash(data.kind.record_fields(record))[7:39])
            record_key = data.kind.record_key(record)
            yield (
                (record_key, digest, data.kind.key_dict(item))
                if with_keys
                else (
                    record_key,
                    digest,
                )
            )

    def remove(self, tier: Tier, kind_name: str, keys: Iterable[dict[str, Any]]) -> int:
        """Delete the tenant's items with these primary keys from one tier's table."""
        kind = next(k for k in TENANT_DATA_KINDS if k.plural == kind_name)
        data = self.data(tier, kind)
        keys = list(keys)
        for batch in chunked(keys, BATCH_WRITE_LIMIT * 4):
            data.store().delete_batch(batch)
            self.heartbeat()
        return len(keys)

    def lagging(self, old: Tier, serving: Tier) -> list[Difference]:
        """What the old copy holds that the serving tier lacks: a record absent there, or
        present only in an earlier version (written to the old tier after the move's copy,
        by an ingest that was already under way). Empty: the old copy may go."""
        differences = []
        for kind in TENANT_DATA_KINDS:
            origin, into = self.data(old, kind), self.data(serving, kind)
            difference = Difference(kind.plural)
            differences.append(difference)
            if not origin.exists():
                continue
            for batch in chunked(self._restored(origin, into), CHUNK):
                difference.source_records += len(batch)
                there = into.store().fetch([into.kind.key_dict(c) for c in batch])
                difference.missing += [
                    str(c[RECORD_KEY_ATTR])
                    for c in batch
                    if self._due(into, c, there.get(into.kind.key_of(c)), newer_only=True)
                ]
        return differences

    # --- delete ---

    def delete_copied(self, old: Tier, serving: Tier) -> list[tuple[str, int]]:
        """Delete from the old tier each of the tenant's records that the serving tier holds
        (or holds in a newer version): only what was verified to be there goes. An item under
        the tenant's keys that is not its valid record, or is not in the serving tier yet,
        stays (and is reported). (table, items deleted) per kind."""
        done = []
        for kind in TENANT_DATA_KINDS:
            origin, into = self.data(old, kind), self.data(serving, kind)
            deleted = 0
            if origin.exists():
                pairs = (
                    (origin.kind.key_dict(item), into.kind.to_item(record, *lineage))
                    for item, record, lineage in self.checked(origin)
                )
                for batch in chunked(pairs, CHUNK):
                    there = into.store().fetch([into.kind.key_dict(c) for _, c in batch])
                    copied = [
                        key
                        for key, c in batch
                        if not self._due(into, c, there.get(into.kind.key_of(c)), newer_only=True)
                    ]
                    origin.store().delete_batch(copied)
                    deleted += len(copied)
                    self.heartbeat()
                    failpoint("delete:chunk")
            done.append((origin.name, deleted))
        return done

    def delete_all(self, tier: Tier, only: RecordKind | None = None) -> list[tuple[str, int]]:
        """Delete every item under the tenant's keys in one tier (its own tables' items, or
        its keys in the pool; an item another tenant keyed under its own id is never touched),
        leases and fences excepted: (table, items deleted) per kind."""
        done = []
        for kind in [only] if only else TENANT_DATA_KINDS:
            data = self.data(tier, kind)
            deleted = 0
            if data.exists():
                for batch in chunked(data.item_keys(), BATCH_WRITE_LIMIT * 4):
                    data.store().delete_batch(batch)
                    deleted += len(batch)
                    self.heartbeat()
                    failpoint("delete:chunk")
            done.append((data.name, deleted))
        return done

    def census(self, tier: Tier) -> dict[str, tuple[int, str]]:
        """Per kind, how many of the tenant's records one tier holds and their digest (what
        an export's manifest says of the records it holds)."""
        found = {}
        for kind in TENANT_DATA_KINDS:
            data, digest = self.data(tier, kind), RecordDigest()
            if data.exists():
                for _, record, _ in self.checked(data):
                    content = content_hash(data.kind.record_fields(record))
                    digest.add(data.kind.record_key(record), content)
            found[kind.plural] = (digest.count, digest.hexdigest())
        return found


def _is_record(into: TenantData, stored) -> bool:
    return not isinstance(record_of(stored, into.kind, into.tenant_id, into.name), Refused)


def _settled(into: TenantData, copy: dict[str, Any], stored: dict[str, Any]) -> bool:
    """The stored item is the copy, bookkeeping aside: same keys (composed ones included),
    record key and content, the content hash recomputed from what is stored."""
    names = (RECORD_KEY_ATTR, CONTENT_HASH_ATTR, *into.kind.layout.composed_names())
    if any(stored.get(name) != copy.get(name) for name in names):
        return False
    found = record_of(stored, into.kind, into.tenant_id, into.name)
    if isinstance(found, Refused):
        return False
    return content_hash(into.kind.record_fields(found)) == copy[CONTENT_HASH_ATTR]


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of `size` items (the last one shorter) from any iterable, read as they come
    (`itertools.batched` arrived after Python 3.11)."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
