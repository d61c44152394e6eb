"""Offboarding in both tiers: a tenant's data exported (contracts' shape, counts, SHA-256),
then erased (pool items, own tables as protection allows, leases, metadata row, roster entry,
quarantine files), resumable after a kill at every step."""

from __future__ import annotations

import hashlib
import json
import signal

import pytest

from ingestion.lifecycle.export import MANIFEST
from ingestion.lifecycle.failpoints import FAILPOINT_ENV
from ingestion.reading.queries import MetadataReader
from ingestion.records.items import MESSAGE
from ingestion.writing.writer import TenantWriter
from tenancy.cli.common import EXIT_OK, EXIT_USAGE
from tenancy.stack_file import StackFile
from tests.ingestion.conftest import ACME, TECHSTART, as_source, make_message
from tests.ingestion.lifecycle.conftest import TRIAL, everything, provision, run
from tests.reliability.conftest import salestalk
from tests.reliability.test_lifecycle_attacks import keyed_under, plant, snapshot
from tests.reliability.test_processes import finish


def offboarding(tenant_id: str) -> None:
    StackFile.load("local").update_tenant(tenant_id, {"status": "offboarding"})


def quarantine_files(project_copy, tenant_id: str) -> list[str]:
    folder = project_copy / ".salestalk" / "quarantine"
    return sorted(p.name for p in folder.glob(f"{tenant_id}-*")) if folder.is_dir() else []


@pytest.fixture
def state(project_copy, monkeypatch):
    """Commands keep their state (exports, erasures, quarantine) in the project copy."""
    monkeypatch.chdir(project_copy)
    return project_copy / ".salestalk"


def test_an_export_holds_the_tenants_records_as_contracts_with_a_manifest(trial, state, capsys):
    plant(trial, "pool-messages", {  # another tenant's item, keyed under its own id
        **make_message(1, TRIAL, content="planted"), "tenantMessageId": "acme#msg-000001",
        "tenantShard": "initech-004#00", "recordKey": "msg-000001",
    })  # fmt: skip
    status, out, err = run(capsys, "tenant", "export", TRIAL)
    assert status == EXIT_OK, err
    (folder,) = (state / "exports").glob(f"{TRIAL}-*")
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["tenantId"] == TRIAL and manifest["tier"] == "pool"
    assert {k: v["records"] for k, v in manifest["files"].items()} == {
        "metrics": 40,
        "messages": 15,
    }
    for entry in manifest["files"].values():
        data = (folder / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    lines = (folder / "messages.jsonl").read_text().splitlines()
    assert all(json.loads(line)["tenantId"] == TRIAL for line in lines)
    assert "planted" not in (folder / "messages.jsonl").read_text()
    assert f"40 metrics -> {folder / 'metrics.jsonl'}" in out
    # what an export holds, `salestalk ingest` takes back: all duplicates of what is stored
    status, out, _ = run(capsys, "ingest", "messages", "--tenant", TRIAL,
                         str(folder / "messages.jsonl"), "--json")  # fmt: skip
    assert status == EXIT_OK and json.loads(out)["duplicates"] == 15


def test_erasure_is_refused_while_the_tenant_takes_data_or_has_no_current_export(
    trial, state, capsys
):
    status, _, err = run(capsys, "tenant", "erase", TRIAL)
    assert status == EXIT_USAGE and "set its status to offboarding" in err
    offboarding(TRIAL)
    status, _, err = run(capsys, "tenant", "erase", TRIAL)
    assert status == EXIT_USAGE and "has no export under .salestalk/exports/" in err
    assert run(capsys, "tenant", "export", TRIAL)[0] == EXIT_OK
    StackFile.load("local").update_tenant(TRIAL, {"status": "active"})
    settings = StackFile.load("local").settings()
    TenantWriter(trial, settings, TRIAL, MESSAGE).ingest(as_source([make_message(99, TRIAL)]))
    offboarding(TRIAL)
    status, _, err = run(capsys, "tenant", "erase", TRIAL)
    assert status == EXIT_USAGE
    assert "holds 40 metrics, 15 messages, but what is stored now (40 metrics, 16 messages)" in err
    assert len(keyed_under(trial, TRIAL)) == 56  # nothing was deleted


def test_a_pooled_tenant_is_erased_and_nothing_of_it_is_left(trial, state, project_copy, capsys):
    bad = state.parent / "bad.jsonl"
    bad.write_text('{"tenantId": "initech-004", "messageId": ""}\n')
    assert run(capsys, "ingest", "messages", "--tenant", TRIAL, str(bad))[0] == 1
    assert quarantine_files(project_copy, TRIAL)
    others = keyed_under(trial, "acme"), snapshot(trial, f"tenant-{ACME}-metrics")
    techstart = everything(trial, TECHSTART)
    offboarding(TRIAL)
    assert run(capsys, "tenant", "export", TRIAL)[0] == EXIT_OK

    status, out, err = run(capsys, "tenant", "erase", TRIAL)
    assert status == EXIT_OK, err
    assert "deleted 15 items of initech-004 from pool-messages" in out
    assert keyed_under(trial, TRIAL) == []
    assert trial.get_item(TableName="pool-metrics", Key={
        "tenantSeriesId": {"S": f"{TRIAL}#\u2063salestalk:writer-lease"},
        "period": {"S": "\u2063salestalk:writer-lease"},
    }).get("Item") is None  # fmt: skip
    settings = StackFile.load("local").settings()
    assert TRIAL not in settings.roster.ids
    assert MetadataReader(trial, settings).tenant(TRIAL) is None
    assert quarantine_files(project_copy, TRIAL) == []
    (record,) = (state / "erasures").glob(f"{TRIAL}-*.json")
    erasure = json.loads(record.read_text())
    assert erasure["poolItemsDeleted"] == {"pool-metrics": 40, "pool-messages": 15}
    assert erasure["metadataRowDeleted"] and erasure["rosterEntryRemoved"]
    assert erasure["export"] and not erasure["exportWaived"]
    assert (keyed_under(trial, "acme"), snapshot(trial, f"tenant-{ACME}-metrics")) == others
    assert everything(trial, TECHSTART) == techstart


def test_a_tenant_removed_from_the_roster_by_hand_can_still_be_erased(trial, state, capsys):
    """Finding 9: out of the roster, a pooled tenant's items stayed for good."""
    StackFile.load("local").remove_tenant(TRIAL)
    status, _, err = run(capsys, "tenant", "erase", TRIAL, "--without-export")
    assert status == EXIT_OK, err
    assert keyed_under(trial, TRIAL) == []
    (record,) = (state / "erasures").glob(f"{TRIAL}-*.json")
    assert json.loads(record.read_text())["exportWaived"] is True


@pytest.mark.parametrize("protected", [False, True], ids=["unprotected", "protected"])
def test_a_siloed_tenant_is_erased_as_the_stack_allows(
    trial, state, project_copy, capsys, protected
):
    if protected:
        path = project_copy / "Pulumi.local.yaml"
        text = path.read_text().replace("protectData: false", "protectData: true")
        path.write_text(text)
        assert StackFile.load("local").settings().protect_data
        provision(trial)  # deletion protection on
    offboarding(ACME)
    status, out, err = run(capsys, "tenant", "erase", ACME, "--without-export")
    assert status == EXIT_OK, err
    names = trial.list_tables()["TableNames"]
    if protected:
        assert f"kept table tenant-{ACME}-metrics, empty" in out
        assert snapshot(trial, f"tenant-{ACME}-metrics") == []
    else:
        assert f"deleted table tenant-{ACME}-metrics" in out
        assert f"tenant-{ACME}-metrics" not in names and f"tenant-{ACME}-messages" not in names
    assert "deleted 10 items of acme-corp-001 from tenant-acme-corp-001-metrics" in out


@pytest.mark.parametrize(
    "step", ["fenced", "pool items", "silo", "fences", "metadata", "roster", "quarantine"]
)
def test_an_erasure_killed_at_any_step_finishes_when_run_again(
    trial, state, endpoint_url, project_copy, step
):
    offboarding(TRIAL)
    argv = ("tenant", "erase", TRIAL, "--without-export")
    env = {"SALESTALK_PROJECT_DIR": str(project_copy)}
    process = salestalk(*argv, endpoint=endpoint_url, env={**env, FAILPOINT_ENV: f"erase:{step}"})
    status, out, err = finish(process)
    assert status == -signal.SIGKILL, out + err
    status, out, err = finish(salestalk(*argv, endpoint=endpoint_url, env=env))
    assert status == 0, out + err
    assert "resuming the erasure" in out
    assert keyed_under(trial, TRIAL) == []
    assert TRIAL not in StackFile.load("local").settings().roster.ids
    (record,) = (state / "erasures").glob(f"{TRIAL}-*.json")
    erasure = json.loads(record.read_text())
    assert erasure["runs"] == 2
    assert sum(erasure["poolItemsDeleted"].values()) == 55  # across both runs, once each
    assert not list((state / "erasures").glob("*.in-progress.json"))
