"""Local provisioning at 50 tenants (issue item 5): a first run, then a no-op re-run.

    python -c "from benchmarks.provisioning import run; print(run().to_json())"

A generated roster of valid tenants is provisioned with `Provisioner(client).apply` on a fresh
embedded endpoint (the metadata table, the two pool tables, and two tables per siloed tenant),
then provisioned again.
The re-run is what every `salestalk provision` after the first one costs, so its request count
per table is the figure to keep small: it must change nothing and make no write request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from benchmarks import harness
from benchmarks.harness import RequestCounter, Result, Target, client, endpoint, timed
from tenancy.provisioner import Outcome, Provisioner, TableResult
from tenancy.roster import Plan
from tenancy.settings import StackSettings
from tenancy.tables import TableSpec, all_table_specs

TENANTS = 50
QUICK_TENANTS = 3
STACK = "bench"

# Requests that change a table; a no-op re-run must send none of them.
MUTATING_OPERATIONS = frozenset(
    {"CreateTable", "UpdateTable", "UpdateContinuousBackups", "TagResource", "UntagResource"}
)
# What a complete drift check of one table needs with DynamoDB's API: the table itself
# (keys, indexes, billing, encryption, deletion protection), its point-in-time recovery, and its
# tags: none of these three calls returns what the others do.
CHECK_REQUESTS_PER_TABLE = 3


def roster(count: int) -> list[dict[str, str]]:
    """`count` valid tenants, every plan represented, as a stack file holds them; all siloed
    (tables of their own: what provisioning is measured on)."""
    plans = list(Plan)
    return [
        {
            "tenantId": f"bench-tenant-{n:03d}",
            "name": f"Bench Tenant {n}",
            "industry": "Technology (SaaS)",
            "region": "Europe",
            "plan": plans[n % len(plans)].value,
            "ownerEmail": f"owner-{n:03d}@bench.example",
            "status": "active",
            "tier": "silo",
        }
        for n in range(count)
    ]


def settings(count: int) -> StackSettings:
    """Built the way a stack file's values are (validated roster, production defaults)."""
    return StackSettings.from_values(STACK, {"tenants": roster(count)}, source="generated roster")


def _outcomes(results: Sequence[TableResult]) -> str:
    counts = Counter(result.outcome.value for result in results)
    return ", ".join(f"{outcome} {n}" for outcome, n in sorted(counts.items()))


def _changed(results: Sequence[TableResult]) -> int:
    """Tables the provisioner reports as touched: not unchanged, or with changes or warnings."""
    return sum(
        1
        for result in results
        if result.outcome is not Outcome.UNCHANGED or result.changes or result.warnings
    )


def run(quick: bool = False) -> Result:
    tenants = QUICK_TENANTS if quick else TENANTS
    specs: list[TableSpec] = all_table_specs(settings(tenants))
    tables = len(specs)
    with endpoint() as url:
        dynamodb = client(url)
        provisioner = Provisioner(dynamodb)  # probes the endpoint's features, not counted
        counter = RequestCounter(dynamodb)

        first = timed(lambda: provisioner.apply(specs))
        first_ops = Counter(counter.by_operation)
        counter.reset()
        again = timed(lambda: provisioner.apply(specs))
        again_ops = Counter(counter.by_operation)

    first_results: list[TableResult] = first.value
    again_results: list[TableResult] = again.value
    created = sum(1 for result in first_results if result.outcome is Outcome.CREATED)
    noop_writes = sum(n for op, n in again_ops.items() if op in MUTATING_OPERATIONS)
    noop_total = sum(again_ops.values())
    first_total = sum(first_ops.values())

    # One column per operation either run sent, in order of first use.
    operations = list(dict.fromkeys([*first_ops, *again_ops]))
    rows = []
    for label, timing, results, ops, total in (
        ("first run (create)", first, first_results, first_ops, first_total),
        ("re-run (no-op)", again, again_results, again_ops, noop_total),
    ):
        rows.append(
            [
                label,
                len(results),
                _outcomes(results),
                round(timing.seconds, 2),
                total,
                round(total / len(results), 2),
                *(ops.get(op, 0) for op in operations),
            ]
        )

    per_table_create = first_total / tables
    notes = [
        f"{tenants} tenants: {tables} tables (the metadata table, the two pool tables, and "
        "messages and metrics per tenant).",
        "The no-op re-run reads each table with DescribeTable, DescribeContinuousBackups and "
        f"ListTagsOfResource: {noop_total / tables:.0f} requests per table, which is the "
        "minimum for a full drift check with DynamoDB's own API (none of the three returns what "
        "the others do). To go below it, the tags of every table could be read in one paginated "
        "call of the Resource Groups Tagging API (`GetResources` filtered on "
        "`project=salestalk` and `stack`, 100 resources a page): 2 requests per table plus 1 "
        "per 100 tables, at the cost of a second service (and its IAM permission) to support "
        "locally.",
        f"The first run makes {per_table_create:.0f} requests per table: DescribeTable (is it "
        "there?), CreateTable, DescribeTable until ACTIVE, UpdateContinuousBackups "
        "(point-in-time recovery is not part of CreateTable). Every missing table's CreateTable "
        "is sent before any is waited for, 50 at a time: on real DynamoDB, where a table with "
        "two indexes takes seconds to become ACTIVE, they are built side by side. On a local "
        "engine a table is ACTIVE at once, so the wait never sleeps here.",
    ]
    targets = [
        Target("first run: tables created", created, tables, at_most=False),
        Target("no-op re-run: tables reported changed", _changed(again_results), 0, at_most=True),
        Target("no-op re-run: create/update requests", noop_writes, 0, at_most=True),
        Target(
            "no-op re-run: requests per table",
            round(noop_total / tables, 2),
            CHECK_REQUESTS_PER_TABLE,
            at_most=True,
        ),
    ]
    method = (
        f"A roster of {tenants} generated, valid tenants is built into `StackSettings` the way "
        "a stack file is read (`StackSettings.from_values`), and all its tables "
        f"({tables}: metadata, the two pool tables, and messages and metrics per siloed "
        "tenant) are provisioned with `Provisioner(client).apply` on a fresh "
        f"{harness.ENGINE.describe()} in its own process, over HTTP. The same specs are then "
        "applied again (the no-op). Each run is timed once (wall clock); requests are counted "
        "per HTTP attempt by operation with botocore's `before-send` hook. The provisioner's "
        "own report (`TableResult.outcome`, `changes`, `warnings`) says whether the re-run changed "
        "anything."
    )
    return Result(
        title="Local provisioning: first run and no-op re-run",
        method=method,
        columns=[
            "run",
            "tables",
            "outcome",
            "seconds",
            "requests",
            "requests per table",
            *operations,
        ],
        rows=rows,
        targets=targets,
        notes=notes,
    )


if __name__ == "__main__":
    import json

    print(json.dumps(run().to_json(), indent=1))
