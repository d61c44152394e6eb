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

import json
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic.alias_generators import to_camel, to_snake

from ingestion.items import TENANT_DATA_KINDS
from ingestion.lease import Fence
from ingestion.lifecycle.copies import Copier
from ingestion.lifecycle.errors import OperationRefused
from ingestion.lifecycle.export import (
    EXPORTS_DIR_NAME,
    latest_export,
    serving_tier,
    verify_export,
)
from ingestion.lifecycle.failpoints import failpoint
from ingestion.lifecycle.fencing import ALL_FENCES, TenantLock, remove_fences
from ingestion.ownership import Refusals
from ingestion.sources import QUARANTINE_DIR_NAME
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
    ):
        self.client = client
        self.stack_file = stack_file
        self.settings = stack_file.settings()
        self.tenant_id = tenant_id
        self.state_dir = state_dir
        self.say = say
        self.export = export
        self.without_export = without_export
        self.progress_path = erasure_dir(state_dir) / f"{tenant_id}.in-progress.json"
        self.record = self._resume()

    def _resume(self) -> ErasureRecord:
        if self.progress_path.is_file():
            data = json.loads(self.progress_path.read_text(encoding="utf-8"))
            return ErasureRecord.from_json(data)
        return ErasureRecord(self.tenant_id, _now())

    def _done(self, step: str) -> None:
        if step not in self.record.steps:
            self.record.steps.append(step)
        self._save(self.progress_path)
        failpoint(f"erase:{step}")

    def _save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(self.record.to_json(), indent=2) + "\n")
        os.replace(temporary, path)

    def run(self) -> tuple[ErasureRecord, Path]:
        """Erase the tenant (or finish an erasure a kill interrupted); the record's path."""
        resumed = bool(self.record.steps)
        self.record.runs += 1
        if not resumed:
            self._check_writes_stopped()
            self._check_export()
        else:
            self.say(
                f"resuming the erasure of {self.tenant_id!r} after: {', '.join(self.record.steps)}"
            )
        refusals = Refusals(self.tenant_id)
        lock = TenantLock(
            self.client,
            self.settings,
            self.tenant_id,
            [Tier.POOL, Tier.SILO],
            operation="erase",
            takes_fences=ALL_FENCES,
            on_wait=self.say,
        )
        lock.acquire()
        lock.fence(Tier.POOL, Fence.ERASED)
        lock.fence(Tier.SILO, Fence.ERASED)
        self._done("fenced")
        copier = Copier(
            self.client,
            self.settings,
            self.tenant_id,
            refusals=refusals,
            operation_id=lock.owner,
        )
        for table, count in copier.delete_all(Tier.POOL):
            _add(self.record.pool_items_deleted, table, count)
        self._done("pool items")
        self._silo(copier)
        self.record.fences_removed += sum(
            remove_fences(self.client, self.settings, self.tenant_id, tier)
            for tier in (Tier.POOL, Tier.SILO)
        )
        self._done("fences")
        self._metadata_and_roster()
        self._quarantine()
        self.record.refused = refusals.to_json()
        self.record.finished_at = _now()
        stamp = self.record.finished_at.replace("-", "").replace(":", "")
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
            raise OperationRefused(
                f"tenant {self.tenant_id!r} is {tenant.status}: set its status to offboarding "
                f"in {self.stack_file.path.name} (and `pulumi up`, so its role stops writing), "
                "then erase it"
            )

    def _check_export(self) -> None:
        if self.without_export:
            self.record.export_waived = True
            return
        if self.export is not None:
            folder = self.export
            manifest = verify_export(folder)
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
            manifest = verify_export(folder)
        if manifest.tenant_id != self.tenant_id:
            raise OperationRefused(f"{folder} is an export of tenant {manifest.tenant_id!r}")
        tier = serving_tier(self.client, self.settings, self.tenant_id)
        stored = Copier(self.client, self.settings, self.tenant_id).count(tier)
        if stored != manifest.counts():
            raise OperationRefused(
                f"the export in {folder} holds {_counts(manifest.counts())}, but "
                f"{_counts(stored)} are stored now: export again, then erase"
            )
        self.record.export = str(folder)

    # --- the steps ---

    def _silo(self, copier: Copier) -> None:
        """Its own tables: deleted whole where the stack lets data go, else emptied."""
        for kind in TENANT_DATA_KINDS:
            data = copier.data(Tier.SILO, kind)
            live = describe(self.client, data.name)
            if live is None:
                continue
            if self.settings.protect_data or live.get("DeletionProtectionEnabled"):
                for table, count in copier.delete_all(Tier.SILO, only=kind):
                    _add(self.record.silo_items_deleted, table, count)
                if data.name not in self.record.tables_kept_empty:
                    self.record.tables_kept_empty.append(data.name)
                continue
            _add(self.record.silo_items_deleted, data.name, sum(1 for _ in data.item_keys()))
            self.client.delete_table(TableName=data.name)
            self.client.get_waiter("table_not_exists").wait(TableName=data.name)
            self.record.tables_deleted.append(data.name)
        self._done("silo")

    def _metadata_and_roster(self) -> None:
        table = metadata_table_spec(self.settings).name
        if describe(self.client, table) is not None:
            key = {METADATA_LAYOUT.hash_key.name: {"S": self.tenant_id}}
            answer = self.client.delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD")
            self.record.metadata_row_deleted |= bool(answer.get("Attributes"))
        self._done("metadata")
        if self.tenant_id in self.settings.roster.ids:
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


def _drop_entries(path: Path, tenant_id: str) -> int:
    """Rewrite a shared (seeding) quarantine file without the tenant's entries: those read
    from its seed folder (`.../TENANT/messages.json`). The file is replaced whole."""
    segment = f"/{tenant_id}/"
    kept, dropped = [], 0
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            try:
                source = str(json.loads(line).get("source", ""))
            except (ValueError, AttributeError):
                source = ""
            if segment in source.replace(os.sep, "/"):
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


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
