"""`salestalk tenant export`: every stored record of a tenant as JSON Lines, with a manifest.

The records are in their contracts' shape (what `salestalk query --jsonl` prints and
`salestalk ingest` takes back), numbers exact, one file per kind; the manifest names the
tenant, the tier read, the time, and per file its record count and SHA-256, so that what
was handed over (or kept before an erasure) can be checked later. Only the tenant's own valid
records are exported (`TenantData.records`); anything else found under its keys is counted
in the manifest's `refused`, never written.

The export is written into a folder of its own, created empty, owner-only (it holds message
content), and appears under its final name only when complete: a killed export leaves a
`.partial` folder, never a manifest for half the data.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingestion.lifecycle.copies import Copier, RecordDigest
from ingestion.lifecycle.errors import OperationFailed, OperationRefused
from ingestion.reading.ownership import Refusals
from ingestion.reading.queries import MetadataReader
from ingestion.reading.query_output import record_json
from ingestion.records.items import TENANT_DATA_KINDS, content_hash
from tenancy.provisioner import describe
from tenancy.roster import Tier, UnknownTenantError
from tenancy.settings import StackSettings
from tenancy.tables import tier_tables

EXPORTS_DIR_NAME = "exports"
MANIFEST = "manifest.json"
FORMAT = "salestalk-tenant-export/1"


@dataclass(frozen=True)
class ExportManifest:
    tenant_id: str
    tier: str
    exported_at: str
    files: dict[str, dict[str, Any]]  # kind (plural) -> file, records, sha256
    refused: dict[str, Any]

    def counts(self) -> dict[str, int]:
        return {kind: entry["records"] for kind, entry in self.files.items()}

    def census(self) -> dict[str, tuple[int, str | None]]:
        """Per kind, the records it holds and their digest (`copies.RecordDigest`)."""
        return {kind: (entry["records"], entry.get("digest")) for kind, entry in self.files.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "tenantId": self.tenant_id,
            "tier": self.tier,
            "exportedAt": self.exported_at,
            "files": self.files,
            "refused": self.refused,
        }

    @classmethod
    def read(cls, folder: Path) -> ExportManifest:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"{folder / MANIFEST} is not a {FORMAT} manifest")
        return cls(
            data["tenantId"], data["tier"], data["exportedAt"], data["files"], data["refused"]
        )


def serving_tier(client, settings: StackSettings, tenant_id: str) -> Tier:
    """Where a tenant's data is served from: its roster entry's tier; for a tenant no longer
    in the roster, the tier `tenants-metadata` last recorded, else its own tables if they
    are there, else the pool."""
    try:
        return settings.tier(settings.roster.get(tenant_id))
    except UnknownTenantError:
        pass
    registered = MetadataReader(client, settings).tenant(tenant_id)
    if registered is not None and registered.tier is not None:
        return registered.tier
    silo = tier_tables(settings, tenant_id, Tier.SILO).values()
    return Tier.SILO if all(describe(client, t.name) for t in silo) else Tier.POOL


def export_folder(state_dir: Path, tenant_id: str) -> Path:
    """A new export's folder: the tenant, the UTC second and a random part (two exports of one
    tenant in one second get two folders)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return state_dir / EXPORTS_DIR_NAME / f"{tenant_id}-{stamp}-{secrets.token_hex(3)}"


def export_tenant(client, settings: StackSettings, tenant_id: str, folder: Path) -> ExportManifest:
    """Write the tenant's records into `folder` (which must not exist yet)."""
    if os.path.lexists(folder):  # a dangling symlink too
        raise OperationRefused(f"{folder} exists: an export is written into a new folder")
    tier = serving_tier(client, settings, tenant_id)
    refusals = Refusals(tenant_id)
    copier = Copier(client, settings, tenant_id, refusals=refusals, operation_id="export")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = Path(
            tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent)
        )
    except OSError as exc:
        raise OperationRefused(f"cannot write an export into {folder}: {exc.strerror}") from None
    try:
        files = {
            kind.plural: _write_kind(copier, tier, kind, partial) for kind in TENANT_DATA_KINDS
        }
        manifest = ExportManifest(
            tenant_id,
            str(tier),
            datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            files,
            refusals.to_json(),
        )
        (partial / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
        if os.path.lexists(folder):
            raise OperationRefused(f"{folder} appeared while the export was written")
        os.replace(partial, folder)
    except OSError as exc:
        raise OperationFailed(f"the export into {folder} failed: {exc.strerror or exc}") from None
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    return manifest


def _write_kind(copier: Copier, tier: Tier, kind, partial: Path) -> dict[str, Any]:
    """One kind's records as JSON Lines (UTF-8, so that every line is no longer than the
    record, as `salestalk ingest` measures it), with its count, SHA-256 and digest."""
    name = f"{kind.plural}.jsonl"
    data = copier.data(tier, kind)
    sha, digest = hashlib.sha256(), RecordDigest()
    descriptor = os.open(partial / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        if data.exists():
            for _, record, _ in copier.checked(data):
                try:
                    line = (record_json(record, ascii_only=False) + "\n").encode("utf-8")
                except UnicodeEncodeError:  # a lone surrogate: only an escape can carry it
                    line = (record_json(record) + "\n").encode("utf-8")
                out.write(line)
                sha.update(line)
                content = content_hash(data.kind.record_fields(record))
                digest.add(data.kind.record_key(record), content)
        out.flush()
        os.fsync(out.fileno())
    return {
        "file": name,
        "records": digest.count,
        "sha256": sha.hexdigest(),
        "digest": digest.hexdigest(),
    }


def latest_export(state_dir: Path, tenant_id: str) -> tuple[Path, ExportManifest] | None:
    """The newest complete export of a tenant under the project's exports folder."""
    root = state_dir / EXPORTS_DIR_NAME
    found = []
    for folder in root.glob(f"{tenant_id}-*") if root.is_dir() else ():
        if not (folder / MANIFEST).is_file():
            continue
        try:
            manifest = ExportManifest.read(folder)
        except (ValueError, KeyError, OSError):
            continue
        if manifest.tenant_id == tenant_id:  # `acme-*` also matches `acme-corp-...`
            found.append((manifest.exported_at, folder.name, folder, manifest))
    if not found:
        return None
    *_, folder, manifest = max(found)
    return folder, manifest


def verify_export(folder: Path) -> ExportManifest:
    """The manifest of an export whose files still hold what it says (count and SHA-256)."""
    manifest = ExportManifest.read(folder)
    for kind, entry in manifest.files.items():
        digest, records = hashlib.sha256(), 0
        with open(folder / entry["file"], "rb") as stream:
            for line in stream:
                digest.update(line)
                records += 1
        if digest.hexdigest() != entry["sha256"] or records != entry["records"]:
            raise ValueError(
                f"{folder / entry['file']} no longer matches its manifest ({kind}: "
                f"{records:,} records, manifest {entry['records']:,})"
            )
    return manifest
