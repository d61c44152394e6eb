"""Tenants to move, export and erase: a pooled trial tenant beside the demo tenants."""

from __future__ import annotations

import pytest

from ingestion.lifecycle.seeding import seed
from ingestion.reading.queries import TenantReader
from ingestion.records.items import MESSAGE, METRIC
from ingestion.writing.writer import TenantWriter
from tenancy.cli import main
from tenancy.provisioner import Provisioner
from tenancy.roster import Tenant, Tier
from tenancy.stack_file import StackFile
from tenancy.tables import all_table_specs
from tests.ingestion.conftest import SEED_DIR, as_source, make_message, make_metric

TRIAL = "initech-004"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def provision(client) -> None:
    Provisioner(client).apply(all_table_specs(StackFile.load("local").settings()))


def everything(client, tenant_id: str) -> tuple[list, list]:
    """What the tenant's reader serves: its metrics and the messages of its sessions."""
    read = TenantReader(client, StackFile.load("local").settings(), tenant_id)
    sessions = ("sess-00000", "sess-00001", "sess-acme-2026-01-12-a", "sess-acme-2026-01-14-b")
    messages = [m for s in sessions for m in read.session_messages(s)]
    return read.all_metrics(), messages


def add_trial(client, tenant_id: str = TRIAL, plan: str = "trial") -> None:
    entry = {
        "tenantId": tenant_id,
        "name": "Initech",
        "industry": "Software",
        "region": "North America",
        "plan": plan,
        "ownerEmail": "data@initech.example",
    }
    StackFile.load("local").add_tenant(Tenant.model_validate(entry))


def ingest(client, tenant_id: str, metrics: int, messages: int) -> None:
    settings = StackFile.load("local").settings()
    for kind, records in (
        (METRIC, [make_metric(n, tenant_id) for n in range(metrics)]),
        (MESSAGE, [make_message(n, tenant_id) for n in range(messages)]),
    ):
        TenantWriter(client, settings, tenant_id, kind).ingest(as_source(records))


@pytest.fixture
def trial(project_copy, dynamodb):
    """A trial tenant (pooled by its plan) with 40 metrics and 15 messages, beside the demo
    tenants (siloed)."""
    add_trial(dynamodb)
    settings = StackFile.load("local").settings()
    assert settings.tier(settings.roster.get(TRIAL)) is Tier.POOL
    provision(dynamodb)
    seed(dynamodb, settings, SEED_DIR)
    ingest(dynamodb, TRIAL, 40, 15)
    return dynamodb
