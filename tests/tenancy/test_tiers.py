"""Tiers: which tenants are pooled, how the pool tables are keyed, and why one pooled tenant's
key pattern can never match another's keys."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenancy.access_policy import leading_keys_pattern
from tenancy.roster import TENANT_ID_MAX_LENGTH, TENANT_ID_MIN_LENGTH, TENANT_ID_PATTERN, Tier
from tenancy.settings import StackConfigError, StackSettings
from tenancy.tables import (
    POOL_KEY_SEPARATOR,
    POOLED_LAYOUTS,
    TENANT_INDEX,
    TENANT_LAYOUTS,
    TENANT_SHARD_ATTR,
    all_table_specs,
    table_count,
    tenant_tables,
)
from tests.support.stacks import local_roster


def entry(tenant_id: str, plan: str = "trial", **extra) -> dict:
    return {**local_roster()[0], "tenantId": tenant_id, "plan": plan, **extra}


def stack(tenants, **options) -> StackSettings:
    return StackSettings.from_values("dev", {"tenants": tenants, **options})


# --- who is pooled ------------------------------------------------------------------------------


def test_trial_tenants_are_pooled_and_every_other_plan_is_siloed_by_default():
    settings = stack([entry(f"t-{plan}", plan) for plan in
                      ("trial", "standard", "professional", "enterprise")])  # fmt: skip
    assert [settings.tier(t) for t in settings.roster] == [Tier.POOL, *[Tier.SILO] * 3]


def test_the_demo_stack_keeps_its_tables():
    settings = stack(local_roster())
    assert settings.pooled() == []
    assert table_count(settings) == 1 + 2 + 2 * 2 == len(all_table_specs(settings))


def test_an_entry_tier_overrides_its_plan_and_the_setting_overrides_plans_one_by_one():
    settings = stack(
        [entry("paying-pooled", "enterprise", tier="pool"), entry("trial-siloed", tier="silo"),
         entry("standard", "standard"), entry("trial")],
        planTiers='{"standard": "pool"}',  # as Pulumi hands an object setting: JSON text
    )  # fmt: skip
    assert [str(settings.tier(t)) for t in settings.roster] == ["pool", "silo", "pool", "pool"]
    assert [t.tenant_id for t in settings.siloed()] == ["trial-siloed"]
    assert table_count(settings) == 1 + 2 + 2


def test_a_pooled_tenant_adds_no_table():
    pooled = stack([entry(f"trial-{n:03d}") for n in range(50)])
    assert [spec.name for spec in all_table_specs(pooled)] == [
        "tenants-metadata", "pool-messages", "pool-metrics",
    ]  # fmt: skip


def test_an_entry_names_its_tier_only_when_it_sets_one():
    settings = stack([entry("plain"), entry("pinned", tier="silo")])
    assert [("tier" in t.to_config()) for t in settings.roster] == [False, True]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"planTiers": {"gold": "pool"}}, "salestalk:planTiers.gold: 'gold' is not a plan"),
        ({"planTiers": {"trial": "shared"}}, "salestalk:planTiers.trial: 'shared' is not a tier"),
        ({"planTiers": "pool"}, "salestalk:planTiers: must map plans to tiers"),
    ],
)
def test_a_bad_plan_tier_setting_names_the_plan_and_what_is_known(options, message):
    with pytest.raises(StackConfigError, match=message):
        stack([entry("abc")], **options)


def test_a_bad_tier_in_an_entry_names_the_tenant_and_field():
    with pytest.raises(ValueError, match=r"tenant 'abc' \(entry 1\), field 'tier'"):
        stack([entry("abc", tier="shared")])


# --- how the pool tables are keyed --------------------------------------------------------------


@pytest.mark.parametrize("silo", TENANT_LAYOUTS, ids=lambda layout: layout.kind)
def test_every_partition_key_of_a_pool_table_and_its_indexes_leads_with_the_tenant(silo):
    pool = POOLED_LAYOUTS[silo.kind]
    composed = dict(pool.composed)
    assert composed[pool.hash_key.name] == silo.hash_key.name
    assert pool.range_key == silo.range_key
    *twins, tenant_index = pool.indexes
    assert tenant_index == TENANT_INDEX  # the pool's own: all of one tenant's items
    assert [i.name for i in twins] == [i.name for i in silo.indexes]
    for index, twin in zip(twins, silo.indexes, strict=True):
        assert composed[index.hash_key.name] == twin.hash_key.name
        assert index.range_key == twin.range_key and index.projection == twin.projection
    assert set(composed) == {pool.hash_key.name, *(i.hash_key.name for i in twins)}
    # the tenant index's partition key leads with the tenant too: `{tenantId}#{shard}`
    assert tenant_index.hash_key.name == TENANT_SHARD_ATTR in pool.composed_names()


def test_pool_keys_are_written_and_asked_for_behind_the_tenant_id():
    metrics = POOLED_LAYOUTS["metrics"]
    item = {"tenantId": "acme", "seriesId": "revenue", "period": "2025-Q4",
            "metricType": "financial"}  # fmt: skip
    assert metrics.compose(item) == {
        "tenantSeriesId": "acme#revenue",
        "tenantMetricType": "acme#financial",
    }  # fmt: skip  (no dimension: the sparse index stays sparse)
    assert metrics.primary_key({"seriesId": "revenue", "period": "2025-Q4"}, "acme") == {
        "tenantSeriesId": "acme#revenue", "period": "2025-Q4",
    }  # fmt: skip
    index = metrics.index("DimensionIndex")
    assert metrics.partition_key("region:emea", "acme", index) == (
        "tenantDimension", "acme#region:emea",
    )  # fmt: skip
    silo = TENANT_LAYOUTS[1]
    assert silo.partition_key("region:emea", "acme", index) == ("dimension", "region:emea")


def test_a_tenant_reads_and_writes_the_tables_of_its_tier():
    settings = stack([entry("pooled-one"), entry("own-tables", "standard")])
    pooled, siloed = (tenant_tables(settings, t) for t in settings.roster)
    assert {t.name for t in pooled.values()} == {"pool-messages", "pool-metrics"}
    assert all(t.layout.pooled for t in pooled.values())
    assert {t.name for t in siloed.values()} == {
        "tenant-own-tables-messages", "tenant-own-tables-metrics",
    }  # fmt: skip


# --- one tenant's pattern never matches another's keys -------------------------------------------

TENANT_IDS = st.from_regex(TENANT_ID_PATTERN, fullmatch=True).filter(
    lambda t: TENANT_ID_MIN_LENGTH <= len(t) <= TENANT_ID_MAX_LENGTH
)
VALUES = st.text(min_size=1, max_size=40)


def matches(pattern: str, key: str) -> bool:
    """IAM's StringLike: `*` any run of characters, `?` one, case-sensitive."""
    return fnmatchcase(key, pattern)


@given(owner=TENANT_IDS, other=TENANT_IDS, value=VALUES)
def test_a_leading_keys_pattern_matches_its_own_keys_and_no_other_tenants(owner, other, value):
    pattern = leading_keys_pattern(owner)
    assert matches(pattern, f"{owner}{POOL_KEY_SEPARATOR}{value}")
    if other != owner:
        assert not matches(pattern, f"{other}{POOL_KEY_SEPARATOR}{value}")


@pytest.mark.parametrize(
    ("owner", "other"),
    [("acme", "acme-corp"), ("acme-corp", "acme"), ("abc", "abc-1"), ("a1b", "a1b2")],
)
def test_ids_that_begin_one_another_never_share_keys(owner, other):
    assert not matches(leading_keys_pattern(owner), f"{other}#x")
    # the separator is what makes this true: without it, `acme*` would match `acme-corp...`
    assert fnmatchcase(f"{other}x", f"{owner}*") is other.startswith(owner)
    assert re.fullmatch(TENANT_ID_PATTERN, f"{owner}{POOL_KEY_SEPARATOR}x") is None


# --- a move in the roster ----------------------------------------------------------------------


def test_a_tenant_moving_or_keeping_a_copy_holds_both_tiers():
    settings = stack(
        [entry("moving", moveTo="silo"), entry("moved", tier="silo", copyLeftIn="pool"),
         entry("still")]
    )  # fmt: skip
    moving, moved, still = settings.roster
    assert settings.held_tiers(moving) == (Tier.POOL, Tier.SILO)
    assert settings.held_tiers(moved) == (Tier.SILO, Tier.POOL)
    assert settings.held_tiers(still) == (Tier.POOL,)
    assert settings.tier(moving) is Tier.POOL  # served from where it is until switched
    assert [t.tenant_id for t in settings.siloed()] == ["moving", "moved"]
    assert table_count(settings) == 1 + 2 + 2 * 2


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"moveTo": "pool"}, "field 'moveTo': the tenant is already in pool"),
        ({"tier": "silo", "copyLeftIn": "silo"}, "field 'copyLeftIn': the tenant is already in"),
        ({"moveTo": "silo", "copyLeftIn": "silo", "tier": "pool"},
         "a move cannot start while the last one's copy is kept"),
    ],
)  # fmt: skip
def test_a_move_that_makes_no_sense_names_the_tenant_and_field(fields, message):
    with pytest.raises(ValueError, match=r"tenant 'abc' \(entry 1\)") as refused:
        stack([entry("abc", **fields)])
    assert message in str(refused.value)


@pytest.mark.slow
def test_a_roster_of_ten_thousand_with_9900_pooled_is_203_tables():
    """The issue's scale, as `salestalk provision` and the Pulumi program read it (their time
    and memory are the benchmarks' figures, not a test's)."""
    paying = ["standard", "professional", "enterprise"]
    tenants = [entry(f"t-{n:05d}", "trial" if n < 9_900 else paying[n % 3]) for n in range(10_000)]
    settings = stack(tenants)
    assert len(settings.pooled()) == 9_900
    specs = all_table_specs(settings)
    assert len(specs) == table_count(settings) == 203
    assert len({spec.name for spec in specs}) == 203
