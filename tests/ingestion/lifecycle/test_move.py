"""Moving a tenant between tiers, as an operator does it: mark the move, make the target's
tables, copy and verify, switch, drop the old copy; killed part-way, run again."""

from __future__ import annotations

import pytest

from ingestion.lifecycle.copies import Copier
from ingestion.lifecycle.tenant_data import TenantData
from ingestion.reading.ownership import Refusals
from ingestion.reading.queries import MetadataReader, TenantReader
from ingestion.records.items import METRIC, serialize
from ingestion.writing.store import TableStore
from tenancy.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from tenancy.roster import Tier
from tenancy.stack_file import StackFile
from tenancy.tables import tier_tables
from tests.ingestion.conftest import ACME
from tests.ingestion.lifecycle.conftest import TRIAL, everything, provision, run


def stored(client, tenant_id: str, tier: Tier, kind=METRIC) -> list[dict]:
    settings = StackFile.load("local").settings()
    table = tier_tables(settings, tenant_id, tier)[kind.layout.kind]
    data = TenantData.of(client, table, kind, Refusals(tenant_id))
    return [item for item, _ in data.records()] if data.exists() else []


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
    assert "verified metrics: 40 records, the same in both tiers" in out
    assert "verified messages: 15 records, the same in both tiers" in out
    assert f"tenant '{TRIAL}' is now served from silo; its copy in pool is kept" in out

    settings = StackFile.load("local").settings()
    tenant = settings.roster.get(TRIAL)
    assert (tenant.tier, tenant.move_to, tenant.copy_left_in) == (Tier.SILO, None, Tier.POOL)
    text = stack_path.read_text()
    assert all(line in text for line in comments)  # the stack file keeps its comments
    assert TenantReader(trial, settings, TRIAL).metrics.name == f"tenant-{TRIAL}-metrics"
    assert everything(trial, TRIAL) == before  # the same records, now from its own tables
    assert MetadataReader(trial, settings).tenant(TRIAL).tier is Tier.SILO
    assert len(stored(trial, TRIAL, Tier.POOL)) == 40  # kept until dropped

    status, out, _ = run(capsys, "tenant", "drop-copy", TRIAL, "--yes")
    assert status == EXIT_OK, out
    assert "deleted 40 items of initech-004 from pool-metrics" in out
    assert stored(trial, TRIAL, Tier.POOL) == []
    assert everything(trial, TRIAL) == before
    assert StackFile.load("local").settings().roster.get(TRIAL).copy_left_in is None
    status, _, err = run(capsys, "tenant", "drop-copy", TRIAL, "--yes")
    assert status == EXIT_USAGE and "has no copy left in another tier" in err


def test_a_siloed_tenant_moves_into_the_pool_beside_the_others(trial, capsys):
    before = everything(trial, ACME)
    status, out, _ = run(capsys, "tenant", "move", ACME, "--to", "pool")
    assert status == EXIT_OK, out  # the pool tables are always there: it copies at once
    assert "copied metrics: 10 read from tenant-acme-corp-001-metrics, 10 written" in out
    settings = StackFile.load("local").settings()
    read = TenantReader(trial, settings, ACME)
    assert read.metrics.name == "pool-metrics"
    assert everything(trial, ACME) == before
    # the pooled trial tenant beside it still reads only its own
    assert {m.tenant_id for m in TenantReader(trial, settings, TRIAL).all_metrics()} == {TRIAL}

    status, out, _ = run(capsys, "tenant", "drop-copy", ACME, "--yes")
    assert status == EXIT_OK, out
    # the local stack does not protect its data: the old tables go at once
    assert f"deleted 10 items of {ACME} from tenant-{ACME}-metrics" in out
    assert f"deleted table tenant-{ACME}-metrics" in out
    names = trial.list_tables()["TableNames"]
    assert f"tenant-{ACME}-metrics" not in names and f"tenant-{ACME}-messages" not in names
    assert everything(trial, ACME) == before


def test_a_copy_killed_part_way_finishes_with_each_item_once(trial, monkeypatch):
    settings = StackFile.load("local").update_tenant(TRIAL, {"moveTo": "silo"})
    provision(trial)
    real, calls = TableStore.put_batch, []

    def dies_on_the_second_batch(self, candidates, *args, **kwargs):
        calls.append(len(candidates))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the operator's Ctrl-C, or the process killed
        return real(self, candidates, *args, **kwargs)

    monkeypatch.setattr("ingestion.lifecycle.copies.CHUNK", 15)
    monkeypatch.setattr(TableStore, "put_batch", dies_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        Copier(trial, settings, TRIAL).copy(Tier.POOL, Tier.SILO)
    monkeypatch.setattr(TableStore, "put_batch", real)

    metrics, messages = Copier(trial, settings, TRIAL).copy(Tier.POOL, Tier.SILO)
    assert (metrics.read, metrics.already_there, metrics.copied) == (40, 15, 25)
    assert (messages.read, messages.copied) == (15, 15)
    again = Copier(trial, settings, TRIAL).copy(Tier.POOL, Tier.SILO)
    assert [c.copied for c in again] == [0, 0]  # a finished copy writes nothing
    checks = Copier(trial, settings, TRIAL).compare(Tier.POOL, Tier.SILO)
    assert all(check.equal for check in checks)
    assert len(stored(trial, TRIAL, Tier.SILO)) == 40


def test_a_target_that_differs_is_mended_before_the_switch(trial, capsys):
    """The target is not served before the switch: the source decides. A tampered copy is
    rewritten, and a record only in the target is taken out, so the switch serves exactly
    what the source held."""
    StackFile.load("local").update_tenant(TRIAL, {"moveTo": "silo"})
    provision(trial)
    settings = StackFile.load("local").settings()
    Copier(trial, settings, TRIAL).copy(Tier.POOL, Tier.SILO)
    silo = f"tenant-{TRIAL}-metrics"
    item = trial.scan(TableName=silo, Limit=1, ConsistentRead=True)["Items"][0]
    # the same content hash, other content: a stored fingerprint proves nothing by itself
    trial.put_item(TableName=silo, Item={**item, "value": {"N": "999999"}})
    extra = {
        **item,
        "seriesId": {"S": "extra"},
        "subject": {"S": "extra"},
        "period": {"S": "2020"},
        "recordKey": {"S": f"{TRIAL}:extra:2020"},
    }
    extra.pop("dimension", None)
    trial.put_item(TableName=silo, Item=extra)
    checks = {c.kind: c for c in Copier(trial, settings, TRIAL).compare(Tier.POOL, Tier.SILO)}
    assert len(checks["metrics"].missing) == 1 and len(checks["metrics"].extra) == 1

    before = everything(trial, TRIAL)
    status, out, _ = run(capsys, "tenant", "move", TRIAL, "--to", "silo")
    assert status == EXIT_OK, out
    assert "1 written to" in out and "verified metrics: 40 records, the same" in out
    assert everything(trial, TRIAL) == before


def test_a_copy_that_cannot_be_made_equal_is_not_switched(trial, capsys, monkeypatch):
    StackFile.load("local").update_tenant(TRIAL, {"moveTo": "silo"})
    provision(trial)
    monkeypatch.setattr(Copier, "copy", lambda self, *a, **k: [])  # a copy that writes nothing
    status, _, err = run(capsys, "tenant", "move", TRIAL, "--to", "silo")
    assert status == EXIT_FAILED
    assert "40 missing or different" in err and "The tenant stays in pool" in err
    tenant = StackFile.load("local").settings().roster.get(TRIAL)
    assert (tenant.tier, tenant.move_to) == (None, Tier.SILO)
    # not fenced: its ingests go on in the pool
    settings = StackFile.load("local").settings()
    assert TenantReader(trial, settings, TRIAL).metrics.name == "pool-metrics"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tenant", "move", ACME, "--to", "silo"], "is already in the silo tier"),
        (["tenant", "move", "nobody-9", "--to", "pool"], "is not in the roster"),
        (["tenant", "drop-copy", ACME, "--yes"], "has no copy left in another tier"),
    ],
)
def test_moves_that_cannot_be_made_say_why(capsys, project_copy, dynamodb, argv, message):
    provision(dynamodb)
    status, _, err = run(capsys, *argv)
    assert status == EXIT_USAGE and message in err


@pytest.mark.parametrize(
    ("command", "failpoint", "tenant_id", "to"),
    [
        ("move", "move:copy", ACME, Tier.POOL),
        ("move", "copy:chunk", ACME, Tier.POOL),
        ("move", "move:verified", ACME, Tier.POOL),
        ("move", "move:fenced", TRIAL, Tier.SILO),
        ("move", "move:switched", ACME, Tier.POOL),
        ("finish", "move:finished", TRIAL, Tier.SILO),
        ("drop-copy", "drop-copy:verified", ACME, Tier.POOL),
        ("drop-copy", "delete:chunk", TRIAL, Tier.SILO),  # the pool copy, item by item
        ("drop-copy", "drop-copy:table-deleted", ACME, Tier.POOL),
        ("drop-copy", "drop-copy:deleted", TRIAL, Tier.SILO),
    ],
)
def test_a_move_killed_at_any_step_finishes_when_run_again(
    trial, endpoint_url, project_copy, command, failpoint, tenant_id, to
):
    """SIGKILL at each failpoint (no cleanup, leases left held), then the same command again:
    it finishes, and the tenant ends with exactly its records, in the new tier."""
    import signal

    from ingestion.lifecycle.failpoints import FAILPOINT_ENV
    from tests.reliability.conftest import salestalk
    from tests.reliability.test_processes import finish

    before = everything(trial, tenant_id)
    records = len(stored(trial, tenant_id, Tier.POOL if to is Tier.SILO else Tier.SILO))
    move_argv = ("tenant", "move", tenant_id, "--to", str(to))
    if to is Tier.SILO:  # its tables first: the first run marks the move
        assert finish(salestalk(*move_argv, endpoint=endpoint_url))[0] == 0
        provision(trial)
    if command != "move":
        assert finish(salestalk(*move_argv, endpoint=endpoint_url))[0] == 0
    argv = (
        move_argv if command in ("move", "finish") else ("tenant", "drop-copy", tenant_id, "--yes")
    )
    killed = salestalk(*argv, endpoint=endpoint_url, env={FAILPOINT_ENV: failpoint})
    status, out, err = finish(killed)
    assert status == -signal.SIGKILL, f"not killed at {failpoint}: {out}{err}"
    status, out, err = finish(salestalk(*argv, endpoint=endpoint_url))
    assert status == 0, out + err
    if command != "drop-copy":
        status, out, err = finish(
            salestalk("tenant", "drop-copy", tenant_id, "--yes", endpoint=endpoint_url)
        )
        assert status == 0, out + err
    settings = StackFile.load("local").settings()
    tenant = settings.roster.get(tenant_id)
    assert (settings.tier(tenant), tenant.move_to, tenant.copy_left_in) == (to, None, None)
    assert MetadataReader(trial, settings).tenant(tenant_id).tier is to
    assert everything(trial, tenant_id) == before
    assert len(stored(trial, tenant_id, to)) == records
    old = Tier.POOL if to is Tier.SILO else Tier.SILO
    assert stored(trial, tenant_id, old) == []


# --- drop-copy asks first: --yes, --dry-run, a terminal's answer -------------------------


def _moved_to_silo(client, capsys) -> None:
    move = ("tenant", "move", TRIAL, "--to", "silo")
    for argv in (move, ("provision",), move):  # mark, make its tables, copy and switch
        assert run(capsys, *argv)[0] == EXIT_OK
    assert len(stored(client, TRIAL, Tier.POOL)) == 40  # the copy a drop would delete


def _copy_still_there(client) -> bool:
    settings = StackFile.load("local").settings()
    return (
        settings.roster.get(TRIAL).copy_left_in is Tier.POOL
        and len(stored(client, TRIAL, Tier.POOL)) == 40
    )


def test_drop_copy_without_yes_where_it_cannot_ask_refuses(trial, capsys, endpoint_url):
    from tests.reliability.conftest import salestalk
    from tests.reliability.test_processes import finish

    _moved_to_silo(trial, capsys)
    status, out, err = finish(salestalk("tenant", "drop-copy", TRIAL, endpoint=endpoint_url))
    assert status == EXIT_USAGE, out + err
    assert err.count("\n") == 1 and "not confirmed (no terminal to ask at): pass --yes" in err
    assert _copy_still_there(trial)


def test_drop_copy_dry_run_says_what_it_would_delete_and_deletes_nothing(trial, capsys):
    _moved_to_silo(trial, capsys)
    status, out, _ = run(capsys, "tenant", "drop-copy", TRIAL, "--dry-run")
    assert status == EXIT_OK, out
    assert f"would delete 40 records of {TRIAL} from pool-metrics" in out
    assert f"would delete 15 records of {TRIAL} from pool-messages" in out
    assert out.rstrip().endswith("dry run: nothing was deleted")
    assert _copy_still_there(trial)

    # a record the serving tier lacks: the dry run says the drop would refuse, and why
    settings = StackFile.load("local").settings()
    silo = tier_tables(settings, TRIAL, Tier.SILO)[METRIC.layout.kind]
    gone = stored(trial, TRIAL, Tier.SILO)[0]
    trial.delete_item(TableName=silo.name, Key=serialize(METRIC.key_dict(gone)))
    status, out, _ = run(capsys, "tenant", "drop-copy", TRIAL, "--dry-run")
    assert f"would delete 39 records of {TRIAL} from pool-metrics" in out
    assert "but 1 records of the copy in pool are not in silo" in out
    assert f"`salestalk tenant move {TRIAL} --to silo`" in out
    assert _copy_still_there(trial)


@pytest.mark.parametrize(("answer", "deleted"), [("n", False), ("", False), ("y", True)])
def test_drop_copy_at_a_terminal_asks_and_does_what_it_is_told(
    trial, capsys, endpoint_url, answer, deleted
):
    """Run in a pseudo-terminal, as a person types it."""
    import os
    import sys

    from tests.reliability.conftest import PROJECT_DIR
    from tests.support.terminal import Terminal

    _moved_to_silo(trial, capsys)
    terminal = Terminal(
        [sys.executable, "-m", "tenancy.cli", "tenant", "drop-copy", TRIAL],
        {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url},
        cwd=PROJECT_DIR,
    )
    terminal.read_until(lambda: "[y/N] " in terminal.text)
    question = terminal.text
    assert f"Delete the copy tenant '{TRIAL}' left in the pool tier" in question
    assert "its items in pool-messages, pool-metrics)? [y/N] " in question
    terminal.type(answer)
    status = terminal.finish()
    text = terminal.text
    if deleted:
        assert status == EXIT_OK, text
        assert f"deleted 40 items of {TRIAL} from pool-metrics" in text
        assert stored(trial, TRIAL, Tier.POOL) == []
    else:
        assert status == EXIT_FAILED, text
        assert "not confirmed: nothing was changed" in text
        assert _copy_still_there(trial)
