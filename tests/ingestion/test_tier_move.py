"""Moving a tenant between tiers, as an operator does it: mark the move, make the target's
tables, copy and verify, switch, drop the old copy; killed part-way, run again."""

from __future__ import annotations

import pytest

from ingestion.items import MESSAGE, METRIC
from ingestion.queries import MetadataReader, TenantReader
from ingestion.seeding import seed
from ingestion.store import TableStore
from ingestion.tier_move import copy_tenant, tenant_items, verify_copy
from ingestion.writer import TenantWriter
from tenancy.cli import main
from tenancy.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from tenancy.provisioner import Provisioner
from tenancy.roster import Tenant, Tier
from tenancy.stack_file import StackFile
from tenancy.tables import all_table_specs, tier_tables
from tests.ingestion.conftest import ACME, SEED_DIR, as_source, make_message, make_metric

TRIAL = "initech-004"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def provision(client) -> None:
    Provisioner(client).apply(all_table_specs(StackFile.load("local").settings()))


def everything(client, tenant_id: str) -> tuple[list, list]:
    read = TenantReader(client, StackFile.load("local").settings(), tenant_id)
    messages = [m for s in ("sess-00000", "sess-00001") for m in read.session_messages(s)]
    return read.all_metrics(), messages


@pytest.fixture
def trial(project_copy, dynamodb):
    """A trial tenant (pooled by its plan) with 40 metrics and 15 messages."""
    entry = {
        "tenantId": TRIAL,
        "name": "Initech",
        "industry": "Software",
        "region": "North America",
        "plan": "trial",
        "ownerEmail": "data@initech.example",
    }
    settings = StackFile.load("local").add_tenant(Tenant.model_validate(entry))
    assert settings.tier(settings.roster.get(TRIAL)) is Tier.POOL
    provision(dynamodb)
    seed(dynamodb, settings, SEED_DIR)  # the demo tenants, beside it
    for kind, records in (
        (METRIC, [make_metric(n, TRIAL) for n in range(40)]),
        (MESSAGE, [make_message(n, TRIAL) for n in range(15)]),
    ):
        TenantWriter(dynamodb, settings, TRIAL, kind).ingest(as_source(records))
    return dynamodb


def test_a_trial_tenant_moves_from_the_pool_to_its_own_tables(trial, project_copy, capsys):
    before = everything(trial, TRIAL)
    stack_path = project_copy / "Pulumi.local.yaml"
    comments = [line for line in stack_path.read_text().splitlines() if line.startswith("#")]

    status, out, _ = run(capsys, "tenant", "move", TRIAL, "--to", "silo")
    assert status == EXIT_OK
    assert f"tenant '{TRIAL}' is moving from pool to silo (moveTo)" in out
    assert f"tables are not there yet (tenant-{TRIAL}-messages, tenant-{TRIAL}-metrics)" in out
    assert everything(trial, TRIAL) == before  # still served from the pool

    assert run(capsys, "provision")[0] == EXIT_OK  # the move's target tables
    status, out, _ = run(capsys, "tenant", "move", TRIAL, "--to", "silo")
    assert status == EXIT_OK, out
    assert f"copied metrics: 40 read from pool-metrics, 40 written to tenant-{TRIAL}-metrics" in out
    assert "verified metrics: 40 items, the same in both tiers" in out
    assert "verified messages: 15 items, the same in both tiers" in out
    assert f"tenant '{TRIAL}' is now served from silo; its copy in pool is kept" in out

    settings = StackFile.load("local").settings()
    tenant = settings.roster.get(TRIAL)
    assert (tenant.tier, tenant.move_to, tenant.copy_left_in) == (Tier.SILO, None, Tier.POOL)
    text = stack_path.read_text()
    assert all(line in text for line in comments)  # the stack file keeps its comments
    assert TenantReader(trial, settings, TRIAL).metrics_table == f"tenant-{TRIAL}-metrics"
    assert everything(trial, TRIAL) == before  # the same records, now from its own tables
    assert MetadataReader(trial, settings).tenant(TRIAL).tier is Tier.SILO
    pool_copy = tier_tables(settings, tenant, Tier.POOL)["metrics"]
    assert len(list(tenant_items(trial, pool_copy, METRIC))) == 40  # kept until dropped

    status, out, _ = run(capsys, "tenant", "drop-copy", TRIAL)
    assert status == EXIT_OK
    assert "deleted 40 items of initech-004 from pool-metrics" in out
    assert list(tenant_items(trial, pool_copy, METRIC)) == []
    assert everything(trial, TRIAL) == before
    assert StackFile.load("local").settings().roster.get(TRIAL).copy_left_in is None
    status, _, err = run(capsys, "tenant", "drop-copy", TRIAL)
    assert status == EXIT_USAGE and "has no copy left in another tier" in err


def test_a_siloed_tenant_moves_into_the_pool_beside_the_others(trial, capsys):
    before = everything(trial, ACME)
    acme_before = TenantReader(trial, StackFile.load("local").settings(), ACME).all_metrics()
    status, out, _ = run(capsys, "tenant", "move", ACME, "--to", "pool")
    assert status == EXIT_OK, out  # the pool tables are always there: it copies at once
    assert "copied metrics: 10 read from tenant-acme-corp-001-metrics, 10 written" in out
    settings = StackFile.load("local").settings()
    read = TenantReader(trial, settings, ACME)
    assert read.metrics_table == "pool-metrics"
    assert read.all_metrics() == acme_before and everything(trial, ACME) == before
    # the pooled trial tenant beside it still reads only its own
    assert {m.tenant_id for m in TenantReader(trial, settings, TRIAL).all_metrics()} == {TRIAL}

    status, out, _ = run(capsys, "tenant", "drop-copy", ACME)
    assert status == EXIT_OK
    assert f"deleted 10 items of {ACME} from tenant-{ACME}-metrics" in out
    # the local stack does not protect its data: the emptied tables go at once
    assert f"deleted table tenant-{ACME}-metrics" in out
    names = trial.list_tables()["TableNames"]
    assert f"tenant-{ACME}-metrics" not in names and f"tenant-{ACME}-messages" not in names
    assert TenantReader(trial, StackFile.load("local").settings(), ACME).all_metrics() == (
        acme_before
    )


def test_a_copy_killed_part_way_finishes_with_each_item_once(trial, monkeypatch):
    settings = StackFile.load("local").update_tenant(TRIAL, {"moveTo": "silo"})
    provision(trial)
    real, calls = TableStore.put_batch, []

    def dies_on_the_third_batch(self, candidates, *args, **kwargs):
        calls.append(len(candidates))
        if len(calls) == 3:
            raise KeyboardInterrupt  # the operator's Ctrl-C, or the process killed
        return real(self, candidates, *args, **kwargs)

    monkeypatch.setattr(TableStore, "put_batch", dies_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        copy_tenant(trial, settings, TRIAL, Tier.SILO, chunk=15)
    monkeypatch.setattr(TableStore, "put_batch", real)

    (metrics, messages) = copy_tenant(trial, settings, TRIAL, Tier.SILO, chunk=15)
    assert (metrics.read, metrics.already_there, metrics.copied) == (40, 30, 10)
    assert (messages.read, messages.copied) == (15, 15)
    again = copy_tenant(trial, settings, TRIAL, Tier.SILO, chunk=15)
    assert [c.copied for c in again] == [0, 0]  # a finished copy writes nothing
    assert all(v.equal for v in verify_copy(trial, settings, TRIAL, Tier.SILO))
    silo = tier_tables(settings, settings.roster.get(TRIAL), Tier.SILO)["metrics"]
    assert len(list(tenant_items(trial, silo, METRIC))) == 40


def test_a_copy_that_differs_is_not_switched(trial, capsys):
    StackFile.load("local").update_tenant(TRIAL, {"moveTo": "silo"})
    provision(trial)
    settings = StackFile.load("local").settings()
    copy_tenant(trial, settings, TRIAL, Tier.SILO)
    silo = f"tenant-{TRIAL}-metrics"
    item = trial.scan(TableName=silo, Limit=1)["Items"][0]
    trial.put_item(TableName=silo, Item={**item, "contentHash": {"S": "sha256:tampered"}})
    extra = {**item, "seriesId": {"S": "extra"}, "recordKey": {"S": "initech-004:extra:2020"}}
    trial.put_item(TableName=silo, Item=extra)

    checks = {v.kind: v for v in verify_copy(trial, settings, TRIAL, Tier.SILO)}
    assert len(checks["metrics"].missing) == 1 and checks["metrics"].extra == [
        "initech-004:extra:2020"
    ]
    # the command mends the differing item, but an item only in the target stops the switch
    status, out, _ = run(capsys, "tenant", "move", TRIAL, "--to", "silo")
    assert status == EXIT_FAILED
    assert "1 extra" in out and "the tenant stays in pool" in out
    assert StackFile.load("local").settings().roster.get(TRIAL).move_to is Tier.SILO


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tenant", "move", ACME, "--to", "silo"], "is already in the silo tier"),
        (["tenant", "move", "nobody-9", "--to", "pool"], "is not in the roster"),
        (["tenant", "drop-copy", ACME], "has no copy left in another tier"),
    ],
)
def test_moves_that_cannot_be_made_say_why(capsys, project_copy, dynamodb, argv, message):
    provision(dynamodb)
    status, _, err = run(capsys, *argv)
    assert status == EXIT_USAGE and message in err
