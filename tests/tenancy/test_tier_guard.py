"""The tier guard: a tenant's tier may change only through `salestalk tenant move`. The rule
itself, the read of the deployed tiers from tenants-metadata, and `salestalk provision` and
`salestalk roster validate` refusing a change, through the real commands and endpoint."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from ingestion.lifecycle.onboarding import register_tenants
from tenancy.budgets import RetryPolicy
from tenancy.cli import main
from tenancy.cli.common import EXIT_OK, EXIT_USAGE
from tenancy.components import deployed_from_outputs
from tenancy.provisioner import Provisioner
from tenancy.roster import RosterError, Tenant, Tier
from tenancy.settings import StackSettings
from tenancy.stack_file import StackFile
from tenancy.tables import all_table_specs
from tenancy.tier_guard import (
    TierReadError,
    check_tiers,
    deployed_tiers,
    tier_problems,
)
from tests.support.ports import free_port
from tests.support.stacks import local_roster

TRIAL = "initech-004"
ACME, TECHSTART = "acme-corp-001", "techstart-inc-002"
SILO, POOL = Tier.SILO, Tier.POOL


def entry(tenant_id: str = TRIAL, plan: str = "trial", **extra: Any) -> dict[str, Any]:
    return {**local_roster()[0], "tenantId": tenant_id, "plan": plan, **extra}


def stack(tenants: list[dict[str, Any]], **options: Any) -> StackSettings:
    return StackSettings.from_values("local", {"tenants": tenants, **options})


# --- the rule ----------------------------------------------------------------------------------


def test_a_plan_change_names_the_tenant_the_tiers_the_cause_and_both_ways_out():
    settings = stack([entry(ACME, "standard"), entry(plan="standard")])
    (problem,) = tier_problems(settings, {ACME: SILO, TRIAL: POOL})
    assert problem == (
        f"tenant '{TRIAL}' (entry 2), field 'tier': its data is in pool, but its entry has no "
        "`tier` and the default of its plan (standard) under `salestalk:planTiers` is now "
        "silo, so it would be served from silo without its data. Put `tier: pool` in its "
        f"entry to keep it in pool; to move it, then run `salestalk tenant move {TRIAL} --to "
        "silo`, which copies its data first"
    )


def test_a_plan_tiers_change_and_a_hand_edit_each_name_their_cause():
    settings = stack(
        [entry(ACME, "standard"), entry(TECHSTART, "enterprise", tier="pool")],
        planTiers={"standard": "pool"},
    )
    plan_default, hand_edit = tier_problems(settings, {ACME: SILO, TECHSTART: SILO})
    assert plan_default.startswith(f"tenant '{ACME}' (entry 1), field 'tier': its data is in silo")
    assert "the default of its plan (standard) under `salestalk:planTiers` is now pool" in (
        plan_default
    )
    assert hand_edit.startswith(f"tenant '{TECHSTART}' (entry 2)")
    assert "its entry now says `tier: pool`" in hand_edit
    assert f"`salestalk tenant move {TECHSTART} --to pool`" in hand_edit


def test_check_tiers_raises_one_roster_error_with_a_line_per_tenant():
    settings = stack([entry(ACME, "trial"), entry(TECHSTART, "trial")])
    with pytest.raises(RosterError) as refused:
        check_tiers(settings, {ACME: SILO, TECHSTART: SILO}, source="Pulumi.local.yaml")
    assert str(refused.value).startswith("invalid tenant roster in Pulumi.local.yaml:\n  - ")
    assert [p.split(" (")[0] for p in refused.value.problems] == [
        f"tenant '{ACME}'",
        f"tenant '{TECHSTART}'",
    ]


def test_what_a_move_does_passes():
    deployed = {TRIAL: POOL}
    assert tier_problems(stack([entry()]), deployed) == []  # unchanged
    assert tier_problems(stack([entry(moveTo="silo")]), deployed) == []  # marked, still pool
    switched = stack([entry(tier="silo", copyLeftIn="pool")])
    assert tier_problems(switched, deployed) == []  # the switch: tier and copy together
    assert tier_problems(stack([entry(tier="silo")]), {TRIAL: SILO}) == []  # copy dropped


def test_new_tenants_and_a_stack_with_nothing_deployed_pass():
    settings = stack([entry(ACME, "standard", tier="pool"), entry(plan="enterprise")])
    assert tier_problems(settings, {}) == []
    assert tier_problems(settings, {"someone-else": SILO}) == []


def every_valid_entry() -> list[StackSettings]:
    """One tenant, every valid combination of plan, tier, moveTo, copyLeftIn and plan default."""
    found = []
    tiers = (None, "silo", "pool")
    for plan, tier, move_to, copy, default in itertools.product(
        ("standard", "trial"), tiers, tiers, tiers, (None, "silo", "pool")
    ):
        fields = {"tier": tier, "moveTo": move_to, "copyLeftIn": copy}
        options = {"planTiers": {plan: default}} if default else {}
        tenant = entry(plan=plan, **{key: value for key, value in fields.items() if value})
        try:
            found.append(stack([tenant], **options))
        except ValueError:
            continue
    return found


@pytest.mark.parametrize("old", list(Tier))
def test_a_change_passes_exactly_when_the_data_is_still_held(old):
    """The rule, over every valid entry: it passes iff the tenant is served from the tier its
    data is in, or keeps the old copy after a switch; and whenever it passes, the tier the
    data is in still holds the tenant's resources (its silo tables are never dropped)."""
    for settings in every_valid_entry():
        (tenant,) = settings.roster
        passes = tier_problems(settings, {TRIAL: old}) == []
        assert passes is (settings.tier(tenant) == old or tenant.copy_left_in == old), tenant
        if passes:
            assert old in settings.held_tiers(tenant), tenant


def test_the_programs_outputs_give_each_tenants_tier():
    outputs = {
        ACME: {"tier": "silo", "messagesTable": "tenant-acme-corp-001-messages"},
        TRIAL: {"tier": "pool"},
        "before-tiers": {"messagesTable": "tenant-before-tiers-messages"},  # no tier: silo
        "odd": {"tier": "somewhere"},  # not a tier: not compared
    }
    assert deployed_from_outputs(outputs) == {ACME: SILO, TRIAL: POOL, "before-tiers": SILO}
    assert deployed_from_outputs(None) == {}  # a stack that never deployed


# --- reading tenants-metadata ------------------------------------------------------------------


class FakeDynamoDB:
    """BatchGetItem only: answers from `rows`, leaving `unprocessed` keys out of the first
    answers (as a throttled DynamoDB does)."""

    def __init__(self, rows: dict[str, str], unprocessed: int = 0, times: int = 1):
        self.rows, self.unprocessed, self.times = rows, unprocessed, times
        self.requests: list[dict] = []

    def batch_get_item(self, RequestItems):  # boto3 names its arguments so
        self.requests.append(RequestItems)
        ((table, request),) = RequestItems.items()
        keys = request["Keys"]
        kept = keys[: self.unprocessed] if self.times > 0 else []
        if kept:
            self.times -= 1
        served = [key["tenantId"]["S"] for key in keys[len(kept) :]]
        items = [self.row(tenant_id) for tenant_id in served if tenant_id in self.rows]
        unprocessed = {table: {**request, "Keys": kept}} if kept else {}
        return {"Responses": {table: items}, "UnprocessedKeys": unprocessed}

    def row(self, tenant_id: str) -> dict[str, dict[str, str]]:
        return {"tenantId": {"S": tenant_id}, "tier": {"S": self.rows[tenant_id]}}


@pytest.mark.slow
def test_tiers_are_read_100_keys_a_request_with_a_projection():
    settings = stack([entry(f"t-{n:03d}") for n in range(250)])
    client = FakeDynamoDB({f"t-{n:03d}": "pool" for n in range(0, 250, 2)})
    found = deployed_tiers(client, settings)
    assert found == {f"t-{n:03d}": POOL for n in range(0, 250, 2)}  # no row: new, left out
    assert [len(r["tenants-metadata"]["Keys"]) for r in client.requests] == [100, 100, 50]
    request = client.requests[0]["tenants-metadata"]
    assert request["ProjectionExpression"] == "#id, #tier"
    assert request["ExpressionAttributeNames"] == {"#id": "tenantId", "#tier": "tier"}
    assert request["ConsistentRead"] is True


def test_unprocessed_keys_are_sent_again_after_a_jittered_wait():
    settings = stack([entry(f"t-{n:03d}") for n in range(5)])
    client = FakeDynamoDB({f"t-{n:03d}": "silo" for n in range(5)}, unprocessed=3, times=2)
    slept: list[float] = []
    found = deployed_tiers(client, settings, sleep=slept.append)
    assert found == {f"t-{n:03d}": SILO for n in range(5)}
    assert [len(r["tenants-metadata"]["Keys"]) for r in client.requests] == [5, 3, 3]
    assert len(slept) == 2 and 0 <= slept[0] <= 0.1 and 0 <= slept[1] <= 0.2

    stuck = FakeDynamoDB({}, unprocessed=5, times=99)
    policy = RetryPolicy(throttle_retries=2, base_seconds=0.0)
    with pytest.raises(TierReadError, match="5 keys still unprocessed after 2 retries"):
        deployed_tiers(stuck, settings, policy=policy, sleep=lambda s: None)


def test_tiers_read_from_the_endpoint(tables):
    """Rows written by `register_tenants` name their tier; a row from before tiers names none
    (its tenant had its own tables); a tenant without a row is new."""
    settings = stack([entry(ACME, "standard"), entry(plan="trial"), entry("newcomer-1")])
    register_tenants(tables, settings, [ACME, TRIAL])
    assert deployed_tiers(tables, settings) == {ACME: SILO, TRIAL: POOL}
    tables.update_item(
        TableName="tenants-metadata",
        Key={"tenantId": {"S": TRIAL}},
        UpdateExpression="REMOVE #tier",
        ExpressionAttributeNames={"#tier": "tier"},
    )
    assert deployed_tiers(tables, settings)[TRIAL] is SILO


def test_no_metadata_table_means_nothing_is_deployed(dynamodb):
    assert deployed_tiers(dynamodb, stack([entry()])) == {}


# --- salestalk provision and salestalk roster validate -----------------------------------------


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def deployed(project_copy, dynamodb):
    """The local stack with a trial tenant, provisioned and registered: tenants-metadata says
    the demo tenants are in silo and the trial tenant in the pool."""
    trial = {key: value for key, value in entry().items() if key != "status"}
    settings = StackFile.load("local").add_tenant(Tenant.model_validate(trial))
    Provisioner(dynamodb).apply(all_table_specs(settings))
    register_tenants(dynamodb, settings)
    return dynamodb


def table_list(client) -> list[str]:
    return sorted(client.list_tables()["TableNames"])


def assert_both_commands_refuse(capsys, client, who: str, move: str) -> None:
    before = table_list(client)
    for argv in (["provision"], ["roster", "validate"]):
        status, out, err = run(capsys, *argv)
        assert status == EXIT_USAGE, (argv, out, err)
        assert err.startswith("salestalk: error: invalid tenant roster in Pulumi.local.yaml:\n")
        assert f"  - tenant '{who}' (entry " in err and f"`salestalk tenant move {move}`" in err
        assert "valid (" not in out and "created" not in out
    assert table_list(client) == before  # nothing created, nothing changed


def test_a_plan_change_is_refused_before_any_table_is_made(deployed, capsys):
    StackFile.load("local").update_tenant(TRIAL, {"plan": "standard"})
    assert_both_commands_refuse(capsys, deployed, TRIAL, f"{TRIAL} --to silo")
    assert f"tenant-{TRIAL}-messages" not in table_list(deployed)


def test_a_plan_tiers_change_is_refused(deployed, capsys, project_copy):
    path = project_copy / "Pulumi.local.yaml"
    text = path.read_text()
    anchor = "  salestalk:protectData: false\n"
    path.write_text(text.replace(anchor, anchor + "  salestalk:planTiers: {enterprise: pool}\n"))
    assert_both_commands_refuse(capsys, deployed, TECHSTART, f"{TECHSTART} --to pool")


def test_a_hand_edit_of_tier_is_refused(deployed, capsys):
    StackFile.load("local").update_tenant(ACME, {"tier": "pool"})
    assert_both_commands_refuse(capsys, deployed, ACME, f"{ACME} --to pool")


def test_a_moves_switch_passes_and_provision_makes_its_tables(deployed, capsys):
    StackFile.load("local").update_tenant(TRIAL, {"tier": "silo", "copyLeftIn": "pool"})
    status, out, err = run(capsys, "roster", "validate")
    assert status == EXIT_OK, err
    assert "3 tenants, valid" in out
    assert "tiers match the live stack at " in out and ": 3 of 3 tenants deployed there" in out
    status, out, err = run(capsys, "provision")
    assert status == EXIT_OK, err
    assert f"created   tenant-{TRIAL}-messages" in out


def test_validate_without_a_live_stack_checks_the_file_and_says_why(capsys, monkeypatch):
    port = free_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{port}")
    status, out, err = run(capsys, "roster", "validate")
    assert status == EXIT_OK, err
    valid, compared = out.splitlines()
    assert valid.startswith("Pulumi.local.yaml: 2 tenants, valid")
    assert compared.startswith(
        f"tiers not compared with the live stack: cannot reach DynamoDB at http://127.0.0.1:{port}"
    )


def test_validate_of_a_real_aws_stack_needs_allow_aws_to_compare(capsys, project_copy, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    path = project_copy / "Pulumi.local.yaml"
    text = path.read_text()
    path.write_text(text[: text.index("  aws:endpoints:")] + text[text.index("  # Local data") :])
    status, out, err = run(capsys, "roster", "validate")
    assert status == EXIT_OK, err
    valid, compared = out.splitlines()
    assert valid.startswith("Pulumi.local.yaml: 2 tenants, valid")
    assert compared.startswith("tiers not compared with the live stack: refusing to touch real")
    assert "--allow-aws" in compared


def test_validate_against_an_endpoint_with_nothing_deployed(capsys, endpoint_url):
    status, out, err = run(capsys, "roster", "validate")
    assert status == EXIT_OK, err
    assert out.splitlines()[1] == (
        f"tiers match the live stack at {endpoint_url} (from AWS_ENDPOINT_URL_DYNAMODB): "
        "0 of 2 tenants deployed there"
    )
