"""Stack files: the local stack is a valid LocalStack stack, and `roster add` edits it safely."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws
import pytest

from tenancy.cli import main
from tenancy.roster import RosterError, Tenant
from tenancy.settings import StackSettings
from tenancy.stack_file import (
    MAX_DEPTH,
    MAX_VALUES,
    StackFile,
    StackFileError,
    _plain,
    _yaml,
    find_project_dir,
)
from tests.support.pulumi_program import TABLE_TYPE, run_program
from tests.support.stacks import THIRD_TENANT, local_roster, with_roster

PROJECT_DIR = Path(__file__).resolve().parents[2]
SERVICES_USED = {"dynamodb", "iam", "kms", "sts"}  # kms: DescribeKey for encrypted tables


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


# --- stack files that would hang or crash a command -------------------------------------------


def laughs(levels: int) -> str:
    """A "billion laughs" block: each level is nine aliases of the one before (9**levels)."""
    lines = ["  x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    lines += [f"  x-a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]\n" for n in range(1, levels)]
    return "".join(lines)


def with_extra(project_copy, text: str) -> None:
    path = project_copy / "Pulumi.local.yaml"
    path.write_text(path.read_text().rstrip("\n") + "\n" + text)


def test_a_billion_laughs_file_is_refused_at_load(project_copy):
    # Six levels (531,441 values) rather than nine: were the limit gone, this would still end.
    with_extra(project_copy, laughs(6))
    with pytest.raises(StackFileError) as refused:
        StackFile.load("local")
    assert str(refused.value).startswith("Pulumi.local.yaml: ")
    assert f"more than {MAX_VALUES:,} values" in str(refused.value)


DEEP = {
    "flow-list": "  x-deep: " + "[" * 5000 + "]" * 5000 + "\n",
    "flow-mapping": "  x-deep: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
    "block-mapping": "  x-deep:\n"
    + "".join("  " * n + "    a:\n" for n in range(3000))
    + "  " * 3000
    + "    a: 1\n",
    "block-list": "  x-deep:\n" + "".join("  " * n + "    -\n" for n in range(3000)) + "\n",
    "just-too-deep": "  x-deep: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n",
}


@pytest.mark.parametrize("case", DEEP)
def test_deep_nesting_is_refused_at_load(project_copy, case):
    with_extra(project_copy, DEEP[case])
    with pytest.raises(StackFileError, match=rf"^Pulumi\.local\.yaml.*deeper than {MAX_DEPTH}"):
        StackFile.load("local")


def test_aliases_nested_deeper_than_the_file_are_refused():
    # Each alias adds a level the composer never sees: the conversion limits depth itself.
    chain = "\n".join(f"  x-{n}: &c{n} [*c{n - 1}]" for n in range(1, MAX_DEPTH + 2))
    document = _yaml().load(f"config:\n  x-0: &c0 [end]\n{chain}\n")
    with pytest.raises(StackFileError, match=f"Pulumi.x.yaml: values nest deeper than {MAX_DEPTH}"):
        _plain(document["config"], "Pulumi.x.yaml")


def test_nesting_and_aliases_within_the_limits_still_load(project_copy):
    with_extra(
        project_copy,
        "  x-nested: " + "[" * (MAX_DEPTH - 3) + "]" * (MAX_DEPTH - 3) + "\n" + laughs(5),
    )
    config = StackFile.load("local").plain_config()
    assert len(config["x-a4"]) == 9 and config["x-a4"][8][8][8][8] == ["lol"] * 9  # 59,049


def test_anchors_and_a_merge_key_sharing_tenant_defaults_still_work(project_copy):
    (project_copy / "Pulumi.local.yaml").write_text(
        "config:\n"
        "  aws:region: us-east-1\n"
        "  x-tenant-defaults: &defaults\n"
        "    industry: Software\n"
        "    region: Europe\n"
        "    plan: standard\n"
        "    ownerEmail: &owner data@example.com\n"
        "  salestalk:tenants:\n"
        "    - <<: *defaults\n"
        "      tenantId: alpha-001\n"
        "      name: Alpha\n"
        "    - <<: *defaults\n"
        "      tenantId: beta-002\n"
        "      name: Beta\n"
        "      plan: enterprise\n"
        "  salestalk:localHosts: [localstack]\n"
        "  x-owners: [*owner, *owner]\n"
    )
    stack_file = StackFile.load("local")
    roster = stack_file.settings().roster
    assert roster.ids == ["alpha-001", "beta-002"]
    assert (
        roster.get("alpha-001").plan == "standard" and roster.get("beta-002").plan == "enterprise"
    )
    assert {str(t.owner_email) for t in roster} == {"data@example.com"}
    assert stack_file.settings().local_hosts == ("localstack",)
    assert stack_file.plain_config()["x-owners"] == ["data@example.com"] * 2


def test_a_deeply_nested_project_file_is_not_a_crash(project_copy):
    (project_copy / "Pulumi.yaml").write_text("name: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(StackFileError, match=r"no Pulumi\.yaml of project 'salestalk'"):
        find_project_dir()
    (project_copy / "Pulumi.yaml").write_text(
        "name: salestalk\nruntime: python\n" + laughs(6).replace("  x-", "x-")
    )
    assert find_project_dir() == project_copy  # the safe loader shares aliases: nothing expands


# --- salestalk:localHosts -------------------------------------------------------------------


def test_local_hosts_default_to_none_and_the_program_accepts_the_setting():
    assert StackFile.load("local").settings().local_hosts == ()
    run = run_program(with_roster(local_roster(), localHosts='["localstack", "10.0.0.5"]'))
    assert len(run.of_type(TABLE_TYPE)) == 7
    settings = StackSettings.from_values(
        "local", {"tenants": local_roster(), "localHosts": '["LocalStack."]'}
    )
    assert settings.local_hosts == ("localstack",)
    with pytest.raises(pulumi.RunError, match="salestalk:localHosts: 'localstack:4566' is not"):
        run_program(with_roster(local_roster(), localHosts='["localstack:4566"]'))


# --- roster add writes the tier -------------------------------------------------------------


def roster_add(capsys, tenant: dict[str, str], *extra: str) -> str:
    argv = ["roster", "add"]
    for option, key in (
        ("--tenant-id", "tenantId"),
        ("--name", "name"),
        ("--industry", "industry"),
        ("--region", "region"),
        ("--plan", "plan"),
        ("--owner-email", "ownerEmail"),
        ("--status", "status"),
    ):
        argv += [option, tenant[key]]
    assert main([*argv, *extra]) == 0
    return capsys.readouterr().out


def appended_entry(tenant: dict[str, str], tier: str) -> str:
    return "".join(
        f"    - {key}: {value}\n" if key == "tenantId" else f"      {key}: {value}\n"
        for key, value in [*tenant.items(), ("tier", tier)]
    )


@pytest.mark.parametrize(
    ("plan", "plan_tiers", "tier"),
    [
        ("professional", None, "silo"),
        ("trial", None, "pool"),
        ("standard", "{trial: pool, standard: pool}", "pool"),
    ],
)
def test_roster_add_writes_the_tier_its_plan_maps_to(capsys, project_copy, plan, plan_tiers, tier):
    """Without --tier the entry still says its tier: a later change of planTiers (or of the
    plan) must not move the tenant's data behind a `tenant move`'s back."""
    path = project_copy / "Pulumi.local.yaml"
    setting = f"  salestalk:planTiers: {plan_tiers}\n"
    if plan_tiers:
        path.write_text(
            path.read_text().replace("  salestalk:tenants:\n", setting + "  salestalk:tenants:\n")
        )
    before = path.read_text()
    tenant = {**THIRD_TENANT, "plan": plan}

    out = roster_add(capsys, tenant)
    assert f"added tenant 'globex-003' to Pulumi.local.yaml (tier {tier}, 3 tenants)" in out
    assert path.read_text() == before + appended_entry(tenant, tier)
    path.write_text(path.read_text().replace(setting, ""))  # planTiers back to the default
    settings = StackFile.load("local").settings()
    assert settings.tier(settings.roster.get("globex-003")) == tier


def test_roster_add_writes_the_tier_it_is_given(capsys, project_copy):
    path = project_copy / "Pulumi.local.yaml"
    before = path.read_text()
    tenant = {**THIRD_TENANT, "plan": "trial"}
    roster_add(capsys, tenant, "--tier", "silo")
    assert path.read_text() == before + appended_entry(tenant, "silo")
