"""Isolation and safety: least privilege, no cross-tenant access, no accidental real AWS."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from ingestion.notebook_support.workspace import open_workspace
from ingestion.reading.queries import CrossTenantAccessError, TenantReader
from ingestion.records.items import MESSAGE
from ingestion.writing.writer import TenantNotWritableError, TenantWriter
from tenancy.access_policy import DATA_ACTIONS, READ_ACTIONS
from tenancy.cli import main
from tenancy.connection import RealAwsRefusedError
from tenancy.local.endpoint import embedded
from tenancy.settings import StackSettings
from tenancy.stack_file import StackFile
from tests.ingestion.conftest import ACME, TECHSTART, all_items, as_source, make_message
from tests.support.ports import listening, listening_addresses
from tests.support.pulumi_program import ROLE_POLICY_TYPE, ROLE_TYPE, TABLE_TYPE, run_program
from tests.support.stacks import THIRD_TENANT, local_config, local_roster, with_roster

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("prefix", ["", "prod"])
def test_every_policy_names_only_its_own_tables_and_data_actions(prefix):
    run = run_program(with_roster([*local_roster(), THIRD_TENANT], tablePrefix=prefix))
    arns = {t.name: t.outputs["arn"] for t in run.of_type(TABLE_TYPE)}
    for policy in run.of_type(ROLE_POLICY_TYPE):
        tenant = policy.name.removesuffix("-data-access")
        own = {arns[f"tenant-{tenant}-messages"], arns[f"tenant-{tenant}-metrics"]}
        qualified = f"{prefix}." if prefix else ""
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            assert statement["Effect"] == "Allow"
            assert set(statement["Action"]) <= set(DATA_ACTIONS)
            assert all(a.startswith("dynamodb:") and "*" not in a for a in statement["Action"])
            for resource in statement["Resource"]:
                table_arn = resource.removesuffix("/index/*")
                assert table_arn in own, (tenant, resource)
                assert "*" not in table_arn
                assert f":table/{qualified}tenant-{tenant}-" in resource
    for role in run.of_type(ROLE_TYPE):
        trust = json.loads(role.inputs["assumeRolePolicy"])
        assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]


def test_a_tenant_removed_from_a_protected_roster_keeps_its_tables():
    """On a protected stack every data table is protected (Pulumi refuses to delete it),
    retained on delete, and protected by DynamoDB itself: dropping the tenant from the roster
    makes `pulumi up` fail instead of deleting data."""
    config = with_roster([*local_roster(), THIRD_TENANT])
    del config["salestalk:protectData"]  # the default: protected
    before = run_program(config)
    globex = [t for t in before.of_type(TABLE_TYPE) if "globex-003" in t.name]
    assert len(globex) == 2
    for table in globex:
        assert table.protect and table.retain_on_delete
        assert table.inputs["deletionProtectionEnabled"] is True
    local = local_config()
    del local["salestalk:protectData"]
    after = run_program(local)
    assert not [t for t in after.of_type(TABLE_TYPE) if "globex-003" in t.name]


def test_a_writer_and_a_reader_of_one_tenant_cannot_reach_another(tables, settings):
    writer = TenantWriter(tables, settings, ACME, MESSAGE)
    assert writer.table_name == f"tenant-{ACME}-messages"
    report = writer.ingest(as_source([make_message(1, tenantId=TECHSTART)]))
    assert report.rejected == 1 and report.rejections[0].errors[0].field == "tenantId"
    assert all_items(tables, f"tenant-{TECHSTART}-messages") == []

    reader = TenantReader(tables, settings, ACME)
    with pytest.raises(CrossTenantAccessError):
        reader.own_table(f"tenant-{TECHSTART}-messages")
    with pytest.raises(CrossTenantAccessError, match="belongs to tenant 'techstart-inc-002'"):
        reader.metric(f"{TECHSTART}:revenue:2025-Q4")


def without_endpoint(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    stack_file = StackFile.load("local")
    del stack_file.document["config"]["aws:endpoints"]
    monkeypatch.setattr(StackFile, "load", classmethod(lambda cls, *a, **k: stack_file))


@pytest.mark.parametrize(
    "argv",
    [
        ["provision"],
        ["tables"],
        ["seed"],
        ["ingest", "metrics", "--tenant", ACME, "-"],
        ["query", "series", "--tenant", ACME, "revenue"],
        ["query", "tenants", "--status", "active"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_commands_refuse_real_aws_unless_allowed(argv, monkeypatch, capsys):
    without_endpoint(monkeypatch)
    assert main(argv) == 2
    assert "refusing to touch real AWS DynamoDB" in capsys.readouterr().err


def test_notebooks_refuse_real_aws(monkeypatch):
    without_endpoint(monkeypatch)
    with pytest.raises(RealAwsRefusedError):
        open_workspace("local")


@pytest.mark.engine
def test_the_test_suites_engine_binds_to_loopback_only(tmp_path):
    """The engine the suite starts for itself accepts any credentials: nothing off this
    machine may reach it."""
    with embedded(tmp_path / ".salestalk") as url:
        port = int(url.rsplit(":", 1)[1])
        assert url == f"http://127.0.0.1:{port}"
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, never 0.0.0.0
    assert not listening(port)


SECRET_PATTERNS = {
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(
        r"(?i)(?:secret_?access_?key|secretKey|aws_secret)\W{1,4}[A-Za-z0-9/+=]{40}\b"
    ),
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH )?PRIVATE KEY-----"),
    "Pulumi access token": re.compile(r"\bpul-[0-9a-f]{40}\b"),
}


def test_no_secrets_in_the_repository():
    files = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout.split()
    assert files, "not a git checkout"
    found = []
    for name in files:
        path = PROJECT_DIR / name
        if not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        found += [f"{name}: {kind}" for kind, rx in SECRET_PATTERNS.items() if rx.search(text)]
    assert found == []
    stack = StackFile.load("local").namespace("aws")
    assert (stack["accessKey"], stack["secretKey"]) == ("test", "test")  # LocalStack's


def test_a_suspended_tenant_keeps_read_access_and_loses_writes(tables, settings):
    roster = local_roster()
    roster[1] = {**roster[1], "status": "suspended"}
    run = run_program(with_roster(roster))
    policies = {p.name: json.loads(p.inputs["policy"]) for p in run.of_type(ROLE_POLICY_TYPE)}
    suspended = set(policies["techstart-inc-002-data-access"]["Statement"][0]["Action"])
    active = set(policies["acme-corp-001-data-access"]["Statement"][0]["Action"])
    assert suspended == set(READ_ACTIONS) and active == set(DATA_ACTIONS)

    suspended_settings = StackSettings.from_values("local", {"tenants": roster})
    with pytest.raises(TenantNotWritableError, match="'techstart-inc-002' is suspended"):
        TenantWriter(tables, suspended_settings, TECHSTART, MESSAGE)
    TenantReader(tables, suspended_settings, TECHSTART).session_messages("s")  # still readable
