"""Seeding: register the roster's tenants in tenants-metadata and load their demo data.

Seed files live in `seed_data/<tenantId>/metrics.json` and `messages.json`. Seeding goes
through the same idempotent writer as any ingest, so running it twice writes nothing new.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.lifecycle.onboarding import onboard, register
from ingestion.records.items import TENANT_DATA_KINDS, RecordKind
from ingestion.records.sources import Quarantine, open_input, read_records
from ingestion.writing.ingest_report import IngestReport
from ingestion.writing.writer import TenantWriter
from tenancy.provisioner import TableResult
from tenancy.settings import StackSettings

SEED_DIR_NAME = "seed_data"
SEED_FILES: dict[str, RecordKind] = {f"{kind.plural}.json": kind for kind in TENANT_DATA_KINDS}


@dataclass
class SeedResult:
    metadata: IngestReport
    tenants: dict[str, dict[str, IngestReport]] = field(default_factory=dict)

    def reports(self) -> list[IngestReport]:
        return [self.metadata] + [r for kinds in self.tenants.values() for r in kinds.values()]

    def total(self) -> IngestReport:
        total = IngestReport(kind="all", tenant_id="all")
        for report in self.reports():
            total.merge(report)
        return total


def seed_files(seed_dir: Path, tenant_id: str) -> dict[RecordKind, Path]:
    folder = seed_dir / tenant_id
    return {kind: folder / name for name, kind in SEED_FILES.items() if (folder / name).is_file()}


def seed(
    client,
    settings: StackSettings,
    seed_dir: Path,
    tenant_ids: Iterable[str] | None = None,
    quarantine: Quarantine | None = None,
    progress: Callable[[str], None] | None = None,
    registered: IngestReport | None = None,
) -> SeedResult:
    """Register tenants (unless `registered` says an onboarding just did), then ingest each
    tenant's seed files (tenants without any are fine: an onboarded tenant starts empty). One
    quarantine serves the whole run: its entries name the file each record came from."""
    selected = list(tenant_ids) if tenant_ids else settings.roster.ids
    for tenant_id in selected:
        settings.roster.get(tenant_id)  # unknown tenant: fail before writing anything
    if registered is None:
        registered = register(client, settings, _source(settings), selected)
    result = SeedResult(metadata=registered)
    for tenant_id in selected:
        result.tenants[tenant_id] = {}
        if not settings.roster.get(tenant_id).status.accepts_writes:
            if progress:
                progress(f"{tenant_id}: skipped, {settings.roster.get(tenant_id).status}")
            continue
        for kind, path in seed_files(seed_dir, tenant_id).items():
            if progress:
                progress(f"{tenant_id}: {path.name}")
            writer = TenantWriter(client, settings, tenant_id, kind)
            with open_input(str(path)) as stream:
                report = writer.ingest(read_records(stream, str(path)), quarantine=quarantine)
            result.tenants[tenant_id][kind.name] = report
    return result


@dataclass
class PreparedStack:
    """What making a stack ready did: each table's outcome, the endpoint's missing features,
    and the seed data's reports."""

    provisioned: list[TableResult]
    notes: list[str]
    seeded: SeedResult


def prepare_stack(
    client,
    settings: StackSettings,
    project_dir: Path,
    *,
    quarantine: Quarantine | None = None,
    on_step: Callable[[str], None] | None = None,
    on_table: Callable[[TableResult], object] | None = None,
    on_provisioned: Callable[[list[TableResult], list[str]], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> PreparedStack:
    """Make a stack ready to look at: onboard its roster (tier check, every table, the
    tenants registered), then seed the demo data. Both steps are idempotent, so on a stack
    that is up this changes nothing. The one implementation behind `salestalk up` and the
    notebooks' workspace."""
    if on_step:
        on_step(f"tables of stack {settings.stack!r}")
    onboarded = onboard(client, settings, _source(settings), on_table=on_table)
    if on_provisioned:
        on_provisioned(onboarded.tables, onboarded.notes)
    if on_step:
        on_step("seed data")
    seeded = seed(
        client,
        settings,
        project_dir / SEED_DIR_NAME,
        quarantine=quarantine,
        progress=progress,
        registered=onboarded.registered,
    )
    return PreparedStack(onboarded.tables, onboarded.notes, seeded)


def _source(settings: StackSettings) -> str:
    return f"stack {settings.stack!r}"
