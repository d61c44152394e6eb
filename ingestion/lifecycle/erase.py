"""`salestalk tenant erase`: offboarding's last step, in both tiers, resumable.

Before anything is deleted: the tenant takes no new data (it is out of the roster, or its
status is `offboarding` or `suspended`), and its data was exported (the newest export's
counts are what is stored now) unless the operator says it need not be. Then, in order:

1. every writer lease of the tenant, in both tiers, becomes an `erased` fence: an ingest that
   started before meets it and stops, nothing is written behind the erasure's back;
2. its items in the pool are deleted (found by its keys, through the tenant index; an item
   another tenant keyed under its own id is never touched);
3. its own tables are deleted where the stack lets data go (`protectData: false`); on a
   protected stack they are emptied and kept for `pulumi up` to release;
4. its fences, its `tenants-metadata` row, its roster entry and its quarantine files go;
5. an erasure record (counts, tables, files; no record content) is written.

Each step is safe to repeat: killed anywhere, `erase` run again picks up where it was (a
progress file under the state folder says how far it got) and the record counts both runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

from pydantic.alias_generators import to_camel, to_snake

from ingestion.lifecycle.copies import Copier, chunked
from ingestion.lifecycle.errors import OperationRefused
from ingestion.lifecycle.export import (
    EXPORTS_DIR_NAME,
    latest_export,
    serving_tier,
    verify_export,
)
from ingestion.lifecycle.failpoints import failpoint
from ingestion.lifecycle.fencing import ALL_FENCES, TenantLock, remove_fences
from ingestion.lifecycle.seeding import SEED_DIR_NAME
from ingestion.records.items import TENANT_DATA_KINDS, RecordKind
from ingestion.records.sources import QUARANTINE_DIR_NAME
from ingestion.writing.lease import Fence
from tenancy.provisioner import describe
from tenancy.roster import Tier, UnknownTenantError
from tenancy.stack_file import StackFile
from tenancy.tables import METADATA_LAYOUT, metadata_table_spec

ERASURES_DIR_NAME = "erasures"
STATUS = "status"

Say = Callable[[str], None]


@dataclass
class ErasureRecord:
    """What an erasure removed, kept as evidence; it holds no record content."""

    tenant_id: str
    started_at: str
    finished_at: str | None = None
    export: str | None = None  # the export checked first (None: waived, `export_waived`)
    export_waived: bool = False
    # Counted once, under the fence, before anything is deleted (late index entries added).
    pool_items_deleted: dict[str, int] = field(default_factory=dict)
    silo_items_deleted: dict[str, int] = field(default_factory=dict)
    tables_deleted: list[str] = field(default_factory=list)
    tables_kept_empty: list[str] = field(default_factory=list)
    fences_removed: int = 0
    metadata_row_deleted: bool = False
    roster_entry_removed: bool = False
    quarantine_files_deleted: list[str] = field(default_factory=list)
    quarantine_entries_deleted: int = 0
    refused: dict[str, Any] = field(default_factory=dict)
    # Whether the pool was also scanned for items under the tenant's keys that the tenant
    # index does not list (written by its role outside the platform): `erase --sweep`.
    swept: bool = False
    runs: int = 0
    steps: list[str] = field(default_factory=list)  # the steps finished, in order

    def to_json(self) -> dict[str, Any]:
        return {to_camel(name): value for name, value in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ErasureRecord:
        return cls(**{to_snake(name): value for name, value in data.items()})


def erasure_dir(state_dir: Path) -> Path:
    return state_dir / ERASURES_DIR_NAME


class Erasure:
    """One tenant's erasure, step by step, with its progress kept on disk."""

    def __init__(
        self,
        client,
        stack_file: StackFile,
        tenant_id: str,
        state_dir: Path,
        *,
        say: Say,
        export: Path | None = None,
        without_export: bool = False,
        sweep: bool = False,
    ):
        self.client = client
        self.stack_file = stack_file
        self.settings = stack_file.settings()
        self.tenant_id = tenant_id
        self.state_dir = state_dir
        self.say = say
        self.export = export
        self.without_export = without_export
        self.sweep = sweep
        self.progress_path = erasure_dir(state_dir) / f"{tenant_id}.in-progress.json"
        self.record = self._resume()
        self.unfinished = ""  # an earlier erasure of a tenant since onboarded again

    def _resume(self) -> ErasureRecord:
        if self.progress_path.is_file():
            data = json.loads(self.progress_path.read_text(encoding="utf-8"))
            return ErasureRecord.from_json(data)
        return ErasureRecord(self.tenant_id, _now(), swept=self.sweep)

    def _done(self, step: str) -> None:
        if step not in self.record.steps:
            self.record.steps.append(step)
        self._save(self.progress_path)
        failpoint(f"erase:{step}")

    def _save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(self.record.to_json(), indent=2) + "\n")
        os.replace(temporary, path)

    def run(self) -> tuple[ErasureRecord, Path]:
        """Erase the tenant (or finish an erasure a kill interrupted); the record's path."""
        with _one_erasure_at_a_time(self.state_dir, self.tenant_id):
            return self._run()

    def _run(self) -> tuple[ErasureRecord, Path]:
        if "roster" in self.record.steps and self.tenant_id in self.settings.roster.ids:
            # that erasure had taken the tenant out of the roster: it is back, onboarded again,
            # and this is a new erasure with every check (the old one's evidence is kept)
            stale = self.progress_path.with_name(f"{self.tenant_id}.unfinished-{_stamp()}.json")
            os.replace(self.progress_path, stale)
            self.unfinished = (
                f" (an erasure of this id started {self.record.started_at} and never "
                f"finished: {stale})"
            )
            self.record = ErasureRecord(self.tenant_id, _now(), swept=self.sweep)
        steps = self.record.steps
        self._check_writes_stopped()  # on a resumed run too: the id may be onboarded again
        if steps:
            self.say(f"resuming the erasure of {self.tenant_id!r} after: {', '.join(steps)}")
        self.record.runs += 1
        self.record.swept |= self.sweep
        lock = TenantLock(
            self.client,
            self.settings,
            self.tenant_id,
            [Tier.POOL, Tier.SILO],
            operation="erase",
            takes_fences=ALL_FENCES,
            on_wait=self.say,
        )
        lock.acquire()  # the tenant's ingests finish first; from here nothing is written
        if "checked" not in steps:
            try:
                self._check_export()  # under the leases: what is stored cannot change now
            except BaseException:
                lock.release()
                raise
            self._done("checked")
        lock.fence(Tier.POOL, Fence.ERASED)
        lock.fence(Tier.SILO, Fence.ERASED)
        self._done("fenced")
        copier = Copier(self.client, self.settings, self.tenant_id, operation_id=lock.owner)
        if "counted" not in steps:
            self._count(copier)
            self._done("counted")
        if "pool items" not in steps:
            self._delete_pool(copier)
            self._done("pool items")
        if "silo" not in steps:
            self._silo(copier)
            self._done("silo")
        # an index entry that arrived late (DynamoDB's indexes are eventually consistent)
        late = self._delete_pool(copier, sweep=False)
        for table, count in late.items():
            _add(self.record.pool_items_deleted, table, count)
        self.record.fences_removed += sum(
            remove_fences(self.client, self.settings, self.tenant_id, tier)
            for tier in (Tier.POOL, Tier.SILO)
        )
        self._done("fences")
        self._metadata_and_roster()
        self._quarantine()
        self.record.refused = copier.refusals.to_json()
        self.record.finished_at = _now()
        stamp = _stamp()
        final = erasure_dir(self.state_dir) / f"{self.tenant_id}-{stamp}.json"
        self._save(final)
        self.progress_path.unlink(missing_ok=True)
        return self.record, final

    # --- before anything is deleted ---

    def _check_writes_stopped(self) -> None:
        try:
            tenant = self.settings.roster.get(self.tenant_id)
        except UnknownTenantError:
            return
        if tenant.status.accepts_writes:
            started = self.unfinished or (
                f" (an erasure of this id started {self.record.started_at} and never finished: "
                f"{self.progress_path})"
                if self.record.steps
                else ""
            )
            raise OperationRefused(
                f"tenant {self.tenant_id!r} is {tenant.status}: set its status to offboarding "
                f"(`salestalk roster set-status {self.tenant_id} offboarding`, then `pulumi up`, "
                f"so its role stops writing), then erase it{started}"
            )

    def _check_export(self) -> None:
        if self.without_export:
            self.record.export_waived = True
            return
        if self.export is not None:
            folder = self.export
        else:
            found = latest_export(self.state_dir, self.tenant_id)
            if found is None:
                raise OperationRefused(
                    f"tenant {self.tenant_id!r} has no export under {self.state_dir.name}/"
                    f"{EXPORTS_DIR_NAME}/: name the one you made with --export DIR, run "
                    f"`salestalk tenant export {self.tenant_id}` first, or erase with "
                    "--without-export"
                )
            folder, _ = found
        try:
            manifest = verify_export(folder)
        except (OSError, ValueError, KeyError) as exc:
            raise OperationRefused(f"{folder}: not a usable export ({exc})") from None
        if manifest.tenant_id != self.tenant_id:
            raise OperationRefused(f"{folder} is an export of tenant {manifest.tenant_id!r}")
        tier = serving_tier(self.client, self.settings, self.tenant_id)
        stored = Copier(self.client, self.settings, self.tenant_id).census(tier)
        if stored != manifest.census():
            counts = {kind: count for kind, (count, _) in stored.items()}
            raise OperationRefused(
                f"the export in {folder} holds {_counts(manifest.counts())}, but what is stored "
                f"now ({_counts(counts)}) is not what it holds (records added or restated "
                "since): export again, then erase"
            )
        self.record.export = str(folder)

    # --- the steps ---

    def _count(self, copier: Copier) -> None:
        """How many items each step will delete, counted once, under the fence: the record
        says what was there, whatever kills the steps that delete it."""
        for table, keys in self._pool_keys(copier):
            self.record.pool_items_deleted[table] = sum(1 for _ in keys)
        for kind in TENANT_DATA_KINDS:
            data = copier.data(Tier.SILO, kind)
            if data.exists():
                self.record.silo_items_deleted[data.name] = sum(1 for _ in data.item_keys())

    def _pool_keys(self, copier: Copier, sweep: bool | None = None):
        """Per pool table, the keys of the tenant's items: through the tenant index, or with
        `--sweep` by a Scan of the whole pool table for keys that lead with its id (items
        its role wrote outside the index as well)."""
        sweep = self.sweep if sweep is None else sweep
        for kind in TENANT_DATA_KINDS:
            data = copier.data(Tier.POOL, kind)
            yield data.name, (data.swept_keys() if sweep else data.item_keys())

    def _delete_pool(self, copier: Copier, sweep: bool | None = None) -> dict[str, int]:
        deleted = {}
        for table, keys in self._pool_keys(copier, sweep):
            store = copier.data(Tier.POOL, _kind_of(table)).store()
            count = 0
            for batch in chunked(keys, 100):
                store.delete_batch(batch)
                count += len(batch)
                failpoint("delete:chunk")
            deleted[table] = count
        return deleted

    def _silo(self, copier: Copier) -> None:
        """Its own tables: deleted whole where the stack lets data go, else emptied."""
        for kind in TENANT_DATA_KINDS:
            data = copier.data(Tier.SILO, kind)
            live = describe(self.client, data.name)
            if live is None:
                continue
            if self.settings.protect_data or live.get("DeletionProtectionEnabled"):
                copier.delete_all(Tier.SILO, only=kind)
                if data.name not in self.record.tables_kept_empty:
                    self.record.tables_kept_empty.append(data.name)
                continue
            self.client.delete_table(TableName=data.name)
            self.client.get_waiter("table_not_exists").wait(TableName=data.name)
            self.record.tables_deleted.append(data.name)

    def _metadata_and_roster(self) -> None:
        table = metadata_table_spec(self.settings).name
        if describe(self.client, table) is not None:
            key = {METADATA_LAYOUT.hash_key.name: {"S": self.tenant_id}}
            answer = self.client.delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD")
            self.record.metadata_row_deleted |= bool(answer.get("Attributes"))
        self._done("metadata")
        if self.tenant_id in self.stack_file.settings().roster.ids:
            self.stack_file.remove_tenant(self.tenant_id)
            self.record.roster_entry_removed = True
        self._done("roster")

    def _quarantine(self) -> None:
        """The tenant's own quarantine files, and its entries in seeding's shared ones."""
        folder = self.state_dir / QUARANTINE_DIR_NAME
        own = re.compile(
            rf"^{re.escape(self.tenant_id)}-(?:{'|'.join(k.plural for k in TENANT_DATA_KINDS)})"
            r"-\d{8}T\d{6}Z-[0-9a-f]{8}\.jsonl$"
        )
        for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else ():
            if own.match(path.name):
                path.unlink()
                self.record.quarantine_files_deleted.append(path.name)
            elif path.name.startswith("seed-"):
                self.record.quarantine_entries_deleted += _drop_entries(path, self.tenant_id)
        self._done("quarantine")


@contextlib.contextmanager
def _one_erasure_at_a_time(state_dir: Path, tenant_id: str) -> Iterator[None]:
    """Two erasures of one tenant from this project folder would share one progress file:
    the second is refused at once, naming the first."""
    folder = erasure_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(folder / f"{tenant_id}.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise OperationRefused(
                f"another erasure of tenant {tenant_id!r} is running ({holder}): let it finish"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}")
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _kind_of(table: str) -> RecordKind:
    return next(kind for kind in TENANT_DATA_KINDS if table.endswith(kind.layout.kind))


def _drop_entries(path: Path, tenant_id: str) -> int:
    """Rewrite a shared (seeding) quarantine file without the tenant's entries: those read
    from its own seed folder (`seed_data/TENANT/messages.json`, the folder named after the
    tenant directly inside the seed data folder). The file is replaced whole."""
    kept, dropped = [], 0
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            try:
                source = PurePath(str(json.loads(line).get("source", "")))
            except (ValueError, AttributeError):
                source = PurePath()
            folder = source.parent
            if folder.name == tenant_id and folder.parent.name == SEED_DIR_NAME:
                dropped += 1
            else:
                kept.append(line)
    if dropped:
        temporary = path.with_name(path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.writelines(kept)
        if kept:
            os.replace(temporary, path)
        else:
            temporary.unlink()
            path.unlink()
    return dropped


def _add(counts: dict[str, int], table: str, count: int) -> None:
    counts[table] = counts.get(table, 0) + count


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {kind}" for kind, n in counts.items())


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
