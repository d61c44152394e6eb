"""Roster and stack settings validation: every rule, with the message a user would see."""

from __future__ import annotations

import pytest

from tenancy.roster import RosterError, UnknownTenantError, parse_roster
from tenancy.settings import StackConfigError, StackSettings
from tests.support.stacks import local_roster


def test_the_local_roster_holds_the_two_seed_tenants():
    roster = parse_roster(local_roster())
    assert roster.ids == ["acme-corp-001", "techstart-inc-002"]
    acme, techstart = roster
    assert (acme.name, acme.industry, acme.region, acme.plan) == (
        "ACME Corporation",
        "Manufacturing",
        "North America",
        "standard",
    )
    assert (techstart.name, techstart.region, techstart.plan) == (
        "TechStart Inc",
        "Europe",
        "enterprise",
    )
    assert roster.get("acme-corp-001") is acme


@pytest.mark.parametrize(
    "tenant_id",
    ["ab", "-acme", "acme-", "ACME", "acme_corp", "acme corp", "a" * 33, "acmé"],
)
def test_bad_tenant_ids_are_refused(tenant_id):
    with pytest.raises(RosterError, match="field 'tenantId': must be 3-32 lowercase"):
        parse_roster([{**local_roster()[0], "tenantId": tenant_id}])


@pytest.mark.parametrize("tenant_id", ["abc", "acme-corp-001", "a" * 32, "1st-tenant"])
def test_good_tenant_ids_are_accepted(tenant_id):
    assert parse_roster([{**local_roster()[0], "tenantId": tenant_id}]).ids == [tenant_id]


def test_every_problem_is_reported_at_once():
    acme, techstart = local_roster()
    with pytest.raises(RosterError) as failure:
        parse_roster([{**acme, "plan": "gold", "status": "gone"}, {**techstart, "name": "  "}])
    assert len(failure.value.problems) == 3
    text = str(failure.value)
    assert "tenant 'acme-corp-001' (entry 1), field 'plan'" in text
    assert "tenant 'acme-corp-001' (entry 1), field 'status'" in text
    assert "tenant 'techstart-inc-002' (entry 2), field 'name'" in text


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "no tenants are configured"),
        ({"tenantId": "x"}, "expected a list of tenants, got dict"),
        (["acme"], "entry 1, field '(entry)'"),
    ],
)
def test_roster_of_the_wrong_shape(raw, message):
    with pytest.raises(RosterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_roster(raw)


def test_unknown_tenant_lookup_names_the_known_ones():
    with pytest.raises(UnknownTenantError, match="known tenants: acme-corp-001, techstart"):
        parse_roster(local_roster()).get("globex-003")


def test_settings_defaults_and_text_booleans():
    settings = StackSettings.from_values("dev", {"tenants": local_roster()})
    assert (settings.table_prefix, settings.protect_data) == ("", True)
    off = StackSettings.from_values("dev", {"tenants": local_roster(), "protectData": "False"})
    assert off.protect_data is False


def test_unknown_setting_is_refused_by_name():
    with pytest.raises(StackConfigError, match="unknown setting salestalk:tablePrefx"):
        StackSettings.from_values("dev", {"tenants": local_roster(), "tablePrefx": "x-"})
