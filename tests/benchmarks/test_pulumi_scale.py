"""Smoke test of the Pulumi scale benchmark: it runs, and it builds what it claims to build.

Timings are never asserted (they depend on the machine); the resource counts are, because a
baseline that registered fewer resources than the program would make the comparison unfair.
"""

from __future__ import annotations

import pytest

from benchmarks import pulumi_scale
from benchmarks.harness import Result, in_subprocess
from tenancy.roster import parse_roster

pytestmark = pytest.mark.slow

# What one tenant adds: the component, its two tables, the role and the role policy; plus the
# global tables: the program's metadata and two pool tables, the baselines' metadata table.
PER_TENANT = {pulumi_scale.OURS: 5, pulumi_scale.DIRECT: 4, pulumi_scale.TABLES: 2}
GLOBAL = {pulumi_scale.OURS: 3, pulumi_scale.DIRECT: 1, pulumi_scale.TABLES: 1}


@pytest.fixture(scope="module")
def quick() -> Result:
    return pulumi_scale.run(quick=True)


def test_one_row_per_program_and_size(quick: Result) -> None:
    assert list(quick.columns) == [
        "program",
        "tenants",
        "resources registered",
        "seconds",
        "ms per tenant",
        "peak memory growth MB",
    ]
    shown = {(row[0], row[1]) for row in quick.rows}
    assert shown == {
        (pulumi_scale.LABELS[program], tenants)
        for program in pulumi_scale.PROGRAMS
        for tenants in pulumi_scale.QUICK_SIZES
    }
    assert len(quick.rows) == len(shown)


def test_resources_registered_per_tenant(quick: Result) -> None:
    by_label = {label: program for program, label in pulumi_scale.LABELS.items()}
    for label, tenants, resources, seconds, per_tenant, memory in quick.rows:
        program = by_label[label]
        assert resources == tenants * PER_TENANT[program] + GLOBAL[program], label
        assert seconds > 0 and per_tenant > 0 and memory >= 0


def test_targets_are_computed_not_judged(quick: Result) -> None:
    small, large = pulumi_scale.QUICK_SIZES
    growth, per_tenant = quick.targets
    assert growth.label == f"time({large} tenants) / time({small} tenants)"
    assert growth.limit == pytest.approx(1.2 * large / small)
    assert per_tenant.limit == 1.5
    assert all(target.measured > 0 for target in quick.targets)
    assert quick.to_json()["targets"][0]["text"]  # renders, met or not


def test_one_measurement_counts_by_type() -> None:
    """The program's graph, type by type, as the mock monitor saw it (in its own interpreter,
    as `run` measures: the mocks are process-wide Pulumi settings)."""
    point = in_subprocess(pulumi_scale.__name__, "--program", pulumi_scale.OURS, "--tenants", "3")
    assert point["by_type"] == {
        "aws:dynamodb/table:Table": 2 * 3 + GLOBAL[pulumi_scale.OURS],
        "salestalk:tenancy:TenantTables": 3,
        "aws:iam/role:Role": 3,
        "aws:iam/rolePolicy:RolePolicy": 3,
    }
    assert point["peak_rss_growth_bytes"] >= 0


def test_a_pooled_tenant_adds_a_component_a_role_and_a_policy_only() -> None:
    point = in_subprocess(
        pulumi_scale.__name__, "--program", pulumi_scale.OURS, "--tenants", "10", "--pooled", "8"
    )
    assert point["tables"] == 3 + 2 * 2
    assert point["resources"] == 3 + 8 * 3 + 2 * 5


def test_generated_roster_is_valid() -> None:
    assert len(parse_roster(pulumi_scale.roster(50))) == 50
    assert [t.plan for t in parse_roster(pulumi_scale.roster(4, pooled=2))][:2] == ["trial"] * 2
