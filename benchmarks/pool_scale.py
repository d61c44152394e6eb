"""The pooled tier at scale: the Pulumi program and `salestalk provision` for 1,000 and 10,000
tenants of which 99% are pooled.

    python -c "from benchmarks.pool_scale import run; print(run().to_json())"

The program runs under Pulumi's mocks in a fresh interpreter per point
(`benchmarks.pulumi_scale --pooled`); provisioning runs against a fresh endpoint of the chosen
engine, over HTTP.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness import Result, client, endpoint, in_subprocess, megabytes, timed
from benchmarks.pulumi_scale import roster
from tenancy.provisioner import Provisioner
from tenancy.settings import StackSettings
from tenancy.tables import all_table_specs, table_count

SIZES = (1_000, 10_000)
QUICK_SIZES = (20, 100)
SILOED_SHARE = 0.01  # the 9,900 pooled of 10,000
STACK = "bench"


def pooled_count(tenants: int) -> int:
    return tenants - max(1, round(tenants * SILOED_SHARE))


def settings(tenants: int) -> StackSettings:
    """A generated roster, 99% trial tenants (pooled by the default `planTiers`)."""
    return StackSettings.from_values(
        STACK, {"tenants": roster(tenants, pooled_count(tenants))}, source="generated roster"
    )


def _program_rows(sizes) -> list[list[Any]]:
    rows = []
    for tenants in sizes:
        point = in_subprocess(
            "benchmarks.pulumi_scale",
            "--program", "ours",
            "--tenants", str(tenants),
            "--pooled", str(pooled_count(tenants)),
        )  # fmt: skip
        rows.append(
            [
                "Pulumi program under mocks",
                tenants,
                point["pooled"],
                point["tables"],
                point["resources"],
                round(point["seconds"], 2),
                round(megabytes(point["peak_rss_growth_bytes"]), 1),
            ]
        )
    return rows


def _provision_rows(sizes) -> list[list[Any]]:
    rows = []
    for tenants in sizes:
        validated = timed(lambda tenants=tenants: settings(tenants))
        stack: StackSettings = validated.value
        specs = all_table_specs(stack)
        assert len(specs) == table_count(stack)
        with endpoint() as url:
            apply = Provisioner(client(url)).apply
            first = timed(lambda apply=apply, specs=specs: apply(specs))
            again = timed(lambda apply=apply, specs=specs: apply(specs))
        pooled = len(stack.pooled())
        rows.append(
            ["salestalk provision: validate, create", tenants, pooled, len(specs), "",
             round(validated.seconds + first.seconds, 2), ""]
        )  # fmt: skip
        rows.append(
            ["salestalk provision again (no-op)", tenants, pooled, len(specs), "",
             round(again.seconds, 2), ""]
        )  # fmt: skip
    return rows


def run(quick: bool = False) -> Result:
    sizes = QUICK_SIZES if quick else SIZES
    rows = _program_rows(sizes) + _provision_rows(sizes)
    large = rows[len(sizes) - 1]
    return Result(
        title="Pooled tier: program and provisioning at scale",
        method=(
            f"Generated rosters of {', '.join(f'{n:,}' for n in sizes)} tenants, "
            f"{100 - SILOED_SHARE * 100:.0f}% of them trial tenants (pooled by the default "
            "`planTiers`), the rest siloed. The program is the real `__main__.py` under "
            "Pulumi's mocks, one fresh interpreter per point, timed and measured as in the "
            "program benchmark (one run each). Provisioning is `StackSettings.from_values` (the "
            "roster validated) plus `Provisioner.apply` on a fresh endpoint, then the same "
            "again (a no-op)."
        ),
        columns=[
            "what",
            "tenants",
            "pooled",
            "tables",
            "resources",
            "seconds",
            "peak memory growth MB",
        ],
        rows=rows,
        notes=[
            f"At {large[1]:,} tenants with {large[2]:,} pooled the stack has {large[3]:,} "
            "tables: the metadata table, the two pool tables, and two per siloed tenant. A "
            "pooled tenant adds a component, a role and a role policy, and no table."
        ],
    )
