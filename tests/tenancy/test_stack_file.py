"""Stack files: the local stack is a valid LocalStack stack, and `roster add` edits it safely."""

from __future__ import annotations

from pathlib import Path

import pulumi_aws
import pytest

from tenancy.roster import RosterError, Tenant
from tenancy.stack_file import StackFile, StackFileError, find_project_dir
from tests.support.stacks import THIRD_TENANT

PROJECT_DIR = Path(__file__).resolve().parents[2]
SERVICES_USED = {"dynamodb", "iam", "sts"}


def test_local_stack_is_a_localstack_stack_valid_for_pulumi_aws_7():
    aws = StackFile.load("local").namespace("aws")
    assert aws["region"] == "us-east-1"
    assert (aws["accessKey"], aws["secretKey"]) == ("test", "test")
    assert aws["skipCredentialsValidation"] == "true"
    assert aws["skipRequestingAccountId"] == "true"
    (endpoints,) = aws["endpoints"]
    assert set(endpoints) == SERVICES_USED  # only what the program uses
    assert set(endpoints.values()) == {"http://localhost:4566"}
    # Every key must be one pulumi-aws 7 knows: unknown keys (sdb, simpledb, worklink) fail.
    known = set(pulumi_aws.config.outputs.Endpoints.__init__.__code__.co_varnames)
    assert set(endpoints) <= known
    assert not {"sdb", "simpledb", "worklink"} & known


def test_local_stack_has_only_known_salestalk_settings():
    settings = StackFile.load("local").settings()
    assert settings.stack == "local" and len(settings.roster) == 2


def test_project_is_found_from_a_subfolder(monkeypatch):
    monkeypatch.delenv("SALESTALK_PROJECT_DIR", raising=False)
    assert find_project_dir(PROJECT_DIR / "tenancy") == PROJECT_DIR


def test_missing_stack_names_the_stacks_that_exist():
    with pytest.raises(StackFileError, match=r"no file Pulumi\.prod\.yaml.*Pulumi\.local\.yaml"):
        StackFile.load("prod")


def test_add_tenant_appends_and_keeps_comments_and_layout(project_copy):
    path = project_copy / "Pulumi.local.yaml"
    before = path.read_text()
    settings = StackFile.load("local").add_tenant(Tenant.model_validate(THIRD_TENANT))
    after = path.read_text()

    assert settings.roster.ids == ["acme-corp-001", "techstart-inc-002", "globex-003"]
    assert after.startswith(before.rstrip("\n"))  # everything before is byte-for-byte intact
    added = after[len(before.rstrip("\n")) :]
    assert "    - tenantId: globex-003\n" in added
    assert "      ownerEmail: data@globex.example\n" in added
    assert StackFile.load("local").settings().roster.get("globex-003").plan == "professional"


def test_add_tenant_refuses_a_duplicate_and_leaves_the_file_alone(project_copy):
    path = project_copy / "Pulumi.local.yaml"
    before = path.read_text()
    duplicate = Tenant.model_validate({**THIRD_TENANT, "tenantId": "acme-corp-001"})
    with pytest.raises(RosterError, match="'acme-corp-001' appears more than once"):
        StackFile.load("local").add_tenant(duplicate)
    assert path.read_text() == before


def test_broken_yaml_is_a_clear_error(project_copy):
    (project_copy / "Pulumi.local.yaml").write_text("config:\n  salestalk:tenants: [\n")
    with pytest.raises(StackFileError, match=r"Pulumi\.local\.yaml is not valid YAML"):
        StackFile.load("local")
