"""Onboarding: a roster applied to its endpoint, tables and `tenants-metadata` alike.

`salestalk provision` (and `salestalk up`, and the notebooks' workspace) first compares each
tenant's tier with the tier `tenants-metadata` says it was served from (`tenancy.tier_guard`:
a tier changed without a move is refused before anything changes), then creates or repairs
the tables, then registers every roster tenant in `tenants-metadata` with its tier, so that
`salestalk query tenants` lists a tenant the moment it is onboarded. With the Pulumi CLI,
`pulumi up` makes the tables and `salestalk tenant register` does the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ingestion.records.items import TENANT
from ingestion.records.sources import SourceRecord
from ingestion.writing.ingest_report import IngestReport
from ingestion.writing.store import TableStore
from ingestion.writing.writer import (
    ChunkStoppedError,
    IdempotentWriter,
    IngestInterruptedError,
    candidate_for,
    utc_now,
)
from tenancy.provisioner import Provisioner, TableResult
from tenancy.settings import StackSettings
from tenancy.tables import all_table_specs, metadata_table_spec
from tenancy.tenant_roles import RoleResult, provision_roles
from tenancy.tier_guard import check_deployed_tiers


@dataclass
class Onboarded:
    """What applying a roster did: each table's outcome, the endpoint's missing features and
    the registration's counts."""

    tables: list[TableResult]
    notes: list[str]
    registered: IngestReport
    roles: list[RoleResult] = field(default_factory=list)


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


def register(
    client, settings: StackSettings, source: str, tenant_ids: Iterable[str] | None = None
) -> IngestReport:
    """Register roster tenants in `tenants-metadata`, each with its tier, once the tier guard
    has passed: registering first would record a wrong tier as the truth."""
    check_deployed_tiers(client, settings, source)
    return register_tenants(client, settings, list(tenant_ids) if tenant_ids else None)


def onboard(
    client,
    settings: StackSettings,
    source: str,
    *,
    on_table: Callable[[TableResult], object] | None = None,
    iam=None,
    on_role: Callable[[RoleResult], object] | None = None,
) -> Onboarded:
    """Check the tiers, make every table of the roster, then (given a local endpoint's IAM)
    every tenant's role and policy, and register every tenant."""
    check_deployed_tiers(client, settings, source)
    provisioner = Provisioner(client)
    tables = []
    for result in provisioner.results(all_table_specs(settings)):
        tables.append(result)
        if on_table:
            on_table(result)
    roles, note = provision_roles(client, iam, settings, on_role)
    notes = provisioner.notes() + ([note] if note else [])
    return Onboarded(tables, notes, register_tenants(client, settings), roles)
