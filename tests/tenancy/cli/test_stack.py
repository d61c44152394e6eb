"""The tenancy commands end to end, against the session's engine over HTTP."""

from __future__ import annotations

import pytest

from tenancy.cli import main
from tenancy.cli.common import EXIT_OK, EXIT_USAGE
from tenancy.endpoint_features import NOT_SUPPORTED, Feature
from tenancy.stack_file import StackFile
from tests.conftest import engine_features, session_iam
from tests.support.ports import free_port
from tests.support.stacks import THIRD_TENANT


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def add_args(tenant: dict[str, str]) -> list[str]:
    return [
        "roster", "add",
        "--tenant-id", tenant["tenantId"],
        "--name", tenant["name"],
        "--industry", tenant["industry"],
        "--region", tenant["region"],
        "--plan", tenant["plan"],
        "--owner-email", tenant["ownerEmail"],
        "--status", tenant["status"],
    ]  # fmt: skip


def test_provision_creates_then_changes_nothing(capsys, endpoint_url):
    status, out, _ = run(capsys, "provision", "--stack", "local")
    assert status == EXIT_OK
    assert f"at {endpoint_url} (from AWS_ENDPOINT_URL_DYNAMODB)" in out
    assert out.count("  created   ") - out.count("  created   role ") == 7
    assert "7 created, 0 updated, 0 unchanged" in out
    if session_iam() is not None:  # an engine serving IAM gets each tenant's role
        assert "roles: 2 created" in out

    status, out, _ = run(capsys, "provision")
    assert status == EXIT_OK
    assert "nothing to change: all 7 tables match their definitions" in out
    assert "roles: 2 created" not in out

    status, out, _ = run(capsys, "tables")
    assert status == EXIT_OK
    block = out.split("\ntenant-acme-corp-001-metrics (")[1].split("\n\n")[0].splitlines()
    assert block[1:4] == [
        "  key       seriesId, period",
        "  indexes   DimensionIndex   (dimension, period) all attributes",
        "            MetricTypeIndex  (metricType, period) all attributes",
    ]
    pitr = "on" if engine_features().supports(Feature.POINT_IN_TIME_RECOVERY) else NOT_SUPPORTED
    assert block[4].startswith("  settings  on-demand, encryption ")
    assert "PAY_PER_REQUEST" not in out  # said as people say it
    said = " ".join(out.split())  # a narrow terminal wraps a setting onto the next line
    assert "DRIFT" not in out and said.count(f"PITR {pitr}") == 7


def test_onboarding_with_roster_add_then_provision(capsys, endpoint_url, project_copy):
    status, out, _ = run(capsys, *add_args(THIRD_TENANT))
    assert status == EXIT_OK and "added tenant 'globex-003'" in out
    status, out, _ = run(capsys, "roster", "list")
    assert "globex-003" in out and "professional" in out

    status, out, _ = run(capsys, "provision")
    assert status == EXIT_OK and "9 created" in out
    assert "created   tenant-globex-003-messages" in out


def test_roster_add_refuses_a_duplicate(capsys, project_copy):
    before = (project_copy / "Pulumi.local.yaml").read_text()
    status, _, err = run(capsys, *add_args({**THIRD_TENANT, "tenantId": "acme-corp-001"}))
    assert status == EXIT_USAGE
    assert "tenant id 'acme-corp-001' appears more than once" in err
    assert (project_copy / "Pulumi.local.yaml").read_text() == before


def test_roster_add_refuses_a_bad_email(capsys, project_copy):
    status, _, err = run(capsys, *add_args({**THIRD_TENANT, "ownerEmail": "nobody"}))
    assert status == EXIT_USAGE
    assert "tenant 'globex-003'" in err and "ownerEmail" in err
    assert "globex-003" not in (project_copy / "Pulumi.local.yaml").read_text()


def test_a_bad_roster_stops_provision_before_anything_is_created(capsys, dynamodb, project_copy):
    path = project_copy / "Pulumi.local.yaml"
    path.write_text(path.read_text().replace("plan: enterprise", "plan: platinum"))
    status, _, err = run(capsys, "provision")
    assert status == EXIT_USAGE
    assert "tenant 'techstart-inc-002' (entry 2), field 'plan'" in err
    assert dynamodb.list_tables()["TableNames"] == []
    status, _, err = run(capsys, "roster", "validate")
    assert status == EXIT_USAGE and "field 'plan'" in err


def test_provision_refuses_real_aws_without_allow_aws(capsys, project_copy, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    stack_file = StackFile.load("local")
    del stack_file.document["config"]["aws:endpoints"]
    monkeypatch.setattr(StackFile, "load", classmethod(lambda cls, stack: stack_file))
    status, _, err = run(capsys, "provision")
    assert status == EXIT_USAGE
    assert "refusing to touch real AWS DynamoDB in us-east-1" in err and "--allow-aws" in err


def test_provision_against_a_dead_endpoint_is_a_clear_error(capsys, monkeypatch):
    port = free_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{port}")
    status, _, err = run(capsys, "provision")
    assert status == EXIT_USAGE
    assert f"cannot reach DynamoDB at http://127.0.0.1:{port}" in err
    assert "salestalk local start" in err


def test_unknown_stack_is_a_usage_error(capsys):
    status, _, err = run(capsys, "roster", "list", "--stack", "prod")
    assert status == EXIT_USAGE and "no file Pulumi.prod.yaml" in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["roster", "add", "--tenant-id", "x"])
    assert exit_info.value.code == EXIT_USAGE


def test_roster_add_errors_read_like_roster_errors(capsys, project_copy):
    status, _, err = run(capsys, *add_args({**THIRD_TENANT, "tenantId": "ab"}))
    assert status == EXIT_USAGE
    assert "tenant 'ab' (entry 1), field 'tenantId': must be 3-32 lowercase" in err
    assert "pydantic" not in err
    status, _, err = run(capsys, *add_args({**THIRD_TENANT, "name": "Globex\nCorp"}))
    assert (
        status == EXIT_USAGE
        and "field 'name': holds U+000A (LINE FEED): a label is printable" in err
    )


@pytest.mark.needs(Feature.TAGS)
def test_a_tag_added_by_hand_is_not_drift(capsys, endpoint_url, dynamodb):
    run(capsys, "provision")
    arn = dynamodb.describe_table(TableName="tenants-metadata")["Table"]["TableArn"]
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "cost-centre", "Value": "finops"}])
    status, out, _ = run(capsys, "tables")
    assert status == EXIT_OK and "DRIFT" not in out
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "stack", "Value": "other"}])
    _, out, _ = run(capsys, "tables")
    assert "tenants-metadata" in out and "DRIFT" in out


def test_tables_in_a_narrow_terminal_fit_it_and_wrap_between_words(tables, endpoint_url):
    import os
    import sys

    from tests.support.terminal import in_a_terminal

    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url}
    text = in_a_terminal([sys.executable, "-m", "tenancy.cli", "tables"], env, 56)
    lines = text.splitlines()
    assert all(len(line) <= 56 for line in lines), lines
    assert "  indexes   SenderIndex   (tenantSenderId, timestamp)" in text  # pool-messages
    assert "PAY_PER_REQUEST" not in text and "on-demand" in text
    # a wrapped line goes on under its label, never cutting a word
    for line in lines:
        if line.startswith(" " * 12) and line.strip():
            assert line.strip()[0] not in ",;)"
