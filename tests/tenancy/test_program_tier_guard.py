"""The whole Pulumi program refuses a tenant whose tier changed without a move: it reads the
tiers it last deployed from its own `tenants` output (a StackReference to its own stack) and
fails, preview and up alike, before any tenant's resources are registered."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pulumi
import pytest

from tenancy.settings import StackSettings
from tests.support.pulumi_program import (
    COMPONENT_TYPE,
    ORGANIZATION,
    ROLE_TYPE,
    STACK_REFERENCE_TYPE,
    TABLE_TYPE,
    run_program,
)
from tests.support.stacks import local_roster, with_roster

TRIAL = "initech-004"
SHARED_TABLES = {"tenants-metadata", "pool-messages", "pool-metrics"}


def trial(**extra: Any) -> dict[str, Any]:
    return {**local_roster()[0], "tenantId": TRIAL, "plan": "trial", **extra}


@pytest.fixture(scope="module")
def deployed():
    """The stack as last deployed: the demo tenants siloed by their plans, a trial tenant
    pooled by its plan; its exports are what the next run's StackReference reads."""
    return run_program(with_roster([*local_roster(), trial()]))


def refused(
    config: dict[str, str], previous: dict[str, Any], preview: bool = False
) -> pulumi.RunError:
    with pytest.raises(pulumi.RunError) as failure:
        run = run_program(config, previous=previous, preview=preview)
        pytest.fail(f"the program ran and registered {len(run.resources)} resources")
    return failure.value


def assert_no_tenant_resource_registered(failure: pulumi.RunError) -> None:
    """The check decides before any tenant component, table or role is registered: a refused
    run never drops a table from the graph, even for the moment before it fails."""
    registered = failure.registered  # type: ignore[attr-defined]
    assert [r for r in registered if r.type in (COMPONENT_TYPE, ROLE_TYPE)] == []
    assert {r.inputs["name"] for r in registered if r.type == TABLE_TYPE} <= SHARED_TABLES


def test_a_plan_change_without_a_move_fails_the_whole_program(deployed):
    roster = [*local_roster(), trial(plan="standard")]
    failure = refused(with_roster(roster), deployed.exports)
    message = str(failure)
    assert message.startswith("invalid tenant roster in stack 'local':\n  - ")
    assert f"tenant '{TRIAL}' (entry 3), field 'tier': its data is in pool" in message
    assert "its entry has no `tier` and the default of its plan (standard) under " in message
    assert "`salestalk:planTiers` is now silo" in message
    assert "Put `tier: pool` in its entry" in message
    assert f"`salestalk tenant move {TRIAL} --to silo`" in message
    assert message.count("\n  - ") == 1  # one line, for the one tenant that changed
    assert_no_tenant_resource_registered(failure)


def test_a_plan_tiers_change_fails_the_whole_program(deployed):
    config = with_roster([*local_roster(), trial()], planTiers=json.dumps({"standard": "pool"}))
    failure = refused(config, deployed.exports)
    message = str(failure)
    assert "tenant 'acme-corp-001' (entry 1), field 'tier': its data is in silo" in message
    assert "the default of its plan (standard) under `salestalk:planTiers` is now pool" in message
    assert "`salestalk tenant move acme-corp-001 --to pool`" in message
    assert "techstart-inc-002" not in message and TRIAL not in message
    assert_no_tenant_resource_registered(failure)


def test_a_hand_edit_of_tier_fails_the_whole_program(deployed):
    roster = [{**local_roster()[0], "tier": "pool"}, local_roster()[1], trial(tier="silo")]
    message = str(refused(with_roster(roster), deployed.exports))
    edited = "tenant 'acme-corp-001' (entry 1), field 'tier': its data is in silo, but its entry"
    assert f"{edited} now says `tier: pool`" in message
    assert f"tenant '{TRIAL}' (entry 3), field 'tier': its data is in pool" in message
    assert "`salestalk tenant move acme-corp-001 --to pool`" in message
    assert f"`salestalk tenant move {TRIAL} --to silo`" in message


def test_preview_reads_the_deployed_tiers_and_refuses_alike(deployed):
    """`pulumi preview` reads the StackReference too: it fails as `pulumi up` does, and when
    nothing changed it shows every tenant's resources."""
    changed = with_roster([*local_roster(), trial(plan="standard")])
    failure = refused(changed, deployed.exports, preview=True)
    assert f"`salestalk tenant move {TRIAL} --to silo`" in str(failure)
    assert_no_tenant_resource_registered(failure)
    same = run_program(
        with_roster([*local_roster(), trial()]), previous=deployed.exports, preview=True
    )
    assert {r.urn for r in same.resources} == {r.urn for r in deployed.resources}


def test_a_real_move_passes_at_every_step(deployed):
    """Mark (`moveTo`), switch (`tier` + `copyLeftIn` together), then drop the copy once the
    switch is deployed: each step runs, reading back what the step before deployed."""
    marked = run_program(
        with_roster([*local_roster(), trial(moveTo="silo")]), previous=deployed.exports
    )
    assert marked.exports["tenants"][TRIAL]["tier"] == "pool"
    switched = run_program(
        with_roster([*local_roster(), trial(tier="silo", copyLeftIn="pool")]),
        previous=marked.exports,
    )
    assert switched.exports["tenants"][TRIAL]["tier"] == "silo"
    assert {f"tenant-{TRIAL}-messages", f"tenant-{TRIAL}-metrics"} <= table_names(switched)
    dropped = run_program(
        with_roster([*local_roster(), trial(tier="silo")]), previous=switched.exports
    )
    assert dropped.exports["tenants"][TRIAL]["tier"] == "silo"


def test_a_move_finished_between_two_deployments_passes(deployed):
    """Mark and `pulumi up`, then switch and drop the old copy with no `pulumi up` between:
    the last outputs still say pool, the entry says silo with no move in sight. The program
    asks tenants-metadata (the move recorded silo there at its switch) and goes on, keeping
    the silo tables; it asks for that tenant only."""
    marked = run_program(
        with_roster([*local_roster(), trial(moveTo="silo")]), previous=deployed.exports
    )
    finished = run_program(
        with_roster([*local_roster(), trial(tier="silo")]),
        previous=marked.exports,
        registered={TRIAL: "silo", "acme-corp-001": "silo"},
    )
    assert finished.exports["tenants"][TRIAL]["tier"] == "silo"
    assert {f"tenant-{TRIAL}-messages", f"tenant-{TRIAL}-metrics"} <= table_names(finished)
    assert [json.loads(read["key"]) for read in finished.item_reads] == [{"tenantId": {"S": TRIAL}}]


@pytest.mark.parametrize("recorded", [None, "pool"], ids=["no row", "row says pool"])
def test_a_hand_edit_is_refused_when_tenants_metadata_does_not_vouch_for_it(deployed, recorded):
    """The same roster, but nothing moved the data: tenants-metadata has no row for the
    tenant, or says where its data still is. Refused, before any tenant resource."""
    registered = {TRIAL: recorded} if recorded else {}
    with pytest.raises(pulumi.RunError, match=rf"tenant '{TRIAL}' \(entry 3\), field 'tier'"):
        run_program(
            with_roster([*local_roster(), trial(tier="silo")]),
            previous=deployed.exports,
            registered=registered,
        )


def test_a_new_tenant_may_start_in_either_tier(deployed):
    newcomers = [
        {**trial(), "tenantId": "newcomer-pooled"},
        {**trial(), "tenantId": "newcomer-siloed", "tier": "silo"},
    ]
    run = run_program(
        with_roster([*local_roster(), trial(), *newcomers]), previous=deployed.exports
    )
    assert {"newcomer-pooled", "newcomer-siloed"} <= set(run.exports["tenants"])


def test_a_stack_that_never_deployed_has_nothing_to_compare():
    """Its StackReference to itself finds no outputs: any tier is a first tier."""
    run = run_program(with_roster([*local_roster(), trial(plan="standard")]))
    (read,) = run.references
    assert read.typ == STACK_REFERENCE_TYPE
    assert read.name == read.resource_id == f"{ORGANIZATION}/salestalk/local"
    assert read.inputs == {"name": f"{ORGANIZATION}/salestalk/local"}
    assert run.exports["tenants"][TRIAL]["tier"] == "silo"


def test_outputs_from_before_tiers_name_no_tier_and_mean_silo(deployed):
    """A stack deployed before tiers existed gave every tenant its own tables: upgrading it
    must not pool its trial tenants, whose tables are still there."""
    before_tiers = {
        tenant_id: {key: value for key, value in outputs.items() if key != "tier"}
        for tenant_id, outputs in deployed.exports["tenants"].items()
    }
    message = str(refused(with_roster([*local_roster(), trial()]), {"tenants": before_tiers}))
    assert f"tenant '{TRIAL}' (entry 3), field 'tier': its data is in silo" in message
    assert "acme-corp-001" not in message


# --- the program never drops a refused tenant's silo tables -----------------------------------

TIERS = (None, "silo", "pool")
PLAN_TIERS = (None, json.dumps({"standard": "pool", "trial": "silo"}))


def variants() -> list[tuple[dict[str, Any], str | None]]:
    """Every valid roster entry of one tenant (plan, tier, moveTo, copyLeftIn) under each
    `planTiers` setting."""
    found = []
    for plan, tier, move_to, copy_left_in, plan_tiers in itertools.product(
        ("standard", "trial"), TIERS, TIERS, TIERS, PLAN_TIERS
    ):
        fields = {"tier": tier, "moveTo": move_to, "copyLeftIn": copy_left_in}
        entry = trial(plan=plan, **{key: value for key, value in fields.items() if value})
        options = {"planTiers": plan_tiers} if plan_tiers else {}
        try:
            StackSettings.from_values("local", {"tenants": [entry], **options})
        except ValueError:
            continue  # a roster the settings refuse never reaches the tier check
        found.append((entry, plan_tiers))
    return found


def table_names(run) -> set[str]:
    return {r.inputs["name"] for r in run.of_type(TABLE_TYPE)}


@pytest.mark.slow
def test_a_siloed_tenants_tables_are_never_missing_from_a_successful_run():
    """Deployed in silo, the tenant's next run either keeps its silo tables or fails: every
    valid entry and setting, through the whole program."""
    previous = {"tenants": {TRIAL: {"tier": "silo"}}}
    outcomes = {"kept": 0, "refused": 0}
    for entry, plan_tiers in variants():
        options = {"planTiers": plan_tiers} if plan_tiers else {}
        config = with_roster([*local_roster(), entry], **options)
        try:
            run = run_program(config, previous=previous)
        except pulumi.RunError as failure:
            assert f"tenant '{TRIAL}'" in str(failure), entry
            outcomes["refused"] += 1
            continue
        assert {f"tenant-{TRIAL}-messages", f"tenant-{TRIAL}-metrics"} <= table_names(run), entry
        outcomes["kept"] += 1
    assert outcomes["kept"] and outcomes["refused"]  # both outcomes were reached
