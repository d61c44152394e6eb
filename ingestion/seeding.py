"""Seeding: register the roster's tenants in tenants-metadata and load their demo data.

Seed files live in `seed_data/<tenantId>/metrics.json` and `messages.json`. Seeding goes
through the same idempotent writer as any ingest, so running it twice writes nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.ingest_report import IngestReport
from ingestion.items import TENANT, TENANT_DATA_KINDS, RecordKind
from ingestion.sources import Quarantine, SourceRecord, open_input, read_records
from ingestion.store import TableStore
from ingestion.writer import (
    ChunkStoppedError,
    IdempotentWriter,
    IngestInterruptedError,
    TenantWriter,
    candidate_for,
    utc_now,
)
from tenancy.provisioner import Provisioner, TableResult
from tenancy.settings import StackSettings
from tenancy.tables import all_table_specs, metadata_table_spec

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


def register_tenants(
    client, settings: StackSettings, tenant_ids: Iterable[str] | None = None
) -> IngestReport:
    """Put the roster's tenants into tenants-metadata, each with its tier; the roster wins
    over what is stored."""
    tenants = [settings.roster.get(t) for t in tenant_ids] if tenant_ids else list(settings.roster)
    store = TableStore(client, metadata_table_spec(settings).name, TENANT)
    writer = IdempotentWriter(store, TENANT, tenant_id="all", accept_updates=True)
    report = IngestReport(kind=TENANT.name, tenant_id="all")
    now, ingest_id = utc_now(), uuid.uuid4().hex
    candidates = []
    for entry in tenants:
        report.received += 1
        # stored with the tier it has, whether its entry names one or its plan decides
        tenant = entry.model_copy(update={"tier": settings.tier(entry)})
        source = SourceRecord(f"roster entry {tenant.tenant_id}", data=tenant.to_config())
        candidates.append(candidate_for(TENANT, source, tenant, now, ingest_id))
    try:
        report.merge(writer.write(candidates))
    except ChunkStoppedError as stopped:
        report.merge(stopped.report)
        raise IngestInterruptedError(stopped.cause, report) from stopped.cause
    return report


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
) -> SeedResult:
    """Register tenants, then ingest each tenant's seed files (tenants without any are fine:
    an onboarded tenant starts empty). One quarantine serves the whole run: its entries name
    the file each record came from."""
    selected = list(tenant_ids) if tenant_ids else settings.roster.ids
    for tenant_id in selected:
        settings.roster.get(tenant_id)  # unknown tenant: fail before writing anything
    result = SeedResult(metadata=register_tenants(client, settings, selected))
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
    """Make a stack ready to look at: provision every table of its roster, then seed the demo
    data. Both steps are idempotent, so on a stack that is up this changes nothing. The one
    implementation behind `salestalk up` and the notebooks' workspace."""
    if on_step:
        on_step(f"tables of stack {settings.stack!r}")
    provisioner = Provisioner(client)
    provisioned = []
    for result in provisioner.results(all_table_specs(settings)):
        provisioned.append(result)
        if on_table:
            on_table(result)
    if on_provisioned:
        on_provisioned(provisioned, provisioner.notes())
    if on_step:
        on_step("seed data")
    seeded = seed(
        client, settings, project_dir / SEED_DIR_NAME, quarantine=quarantine, progress=progress
    )
    return PreparedStack(provisioned, provisioner.notes(), seeded)
