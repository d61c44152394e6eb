"""Least-privilege access to one tenant's data.

Each tenant gets a role whose only permissions are DynamoDB data actions on that tenant's data
and its indexes. Scan is left out on purpose: every access pattern is served by a key or an
index (DATA_CONTRACTS.md), so a workload that scans is a bug, not a need.

A siloed tenant's role names its own tables. A pooled tenant's role names the pool tables, and
only under `dynamodb:LeadingKeys`: every partition key it reads or writes, of the table and of
each index, must begin with `{tenantId}#`. No tenant id holds `#` (`POOL_KEY_SEPARATOR`), so
the pattern of one tenant never matches the keys of another, even one whose id it begins.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from tenancy.tables import POOL_KEY_SEPARATOR

READ_ACTIONS: tuple[str, ...] = (
    "dynamodb:BatchGetItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
)
WRITE_ACTIONS: tuple[str, ...] = (
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
DATA_ACTIONS: tuple[str, ...] = tuple(sorted(READ_ACTIONS + WRITE_ACTIONS))
# The data actions that name a table, not items: no leading key to check.
TABLE_ACTIONS: tuple[str, ...] = ("dynamodb:DescribeTable",)

# Who may assume a tenant's data-access role: the platform's compute (the chat and metrics
# handlers run on Lambda). Tightening it to specific function roles is a per-account decision.
TRUSTED_SERVICE = "lambda.amazonaws.com"


def assume_role_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": TRUSTED_SERVICE},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def _resources(table_arns: Sequence[str]) -> list[str]:
    if not table_arns:
        raise ValueError("a tenant data policy needs at least one table")
    resources: list[str] = []
    for arn in table_arns:
        resources += [arn, f"{arn}/index/*"]
    return resources


def _actions(writable: bool) -> list[str]:
    return list(DATA_ACTIONS if writable else READ_ACTIONS)


def _document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def tenant_data_policy(
    tenant_id: str,
    writable: bool = True,
    silo_arns: Sequence[str] = (),
    pool_arns: Sequence[str] = (),
) -> str:
    """The policy document for one tenant: its own tables (`silo_arns`) and its keys in the
    pool tables (`pool_arns`), one or both (both while it moves between tiers); read-only for
    a tenant that takes no new data (suspended, offboarding)."""
    statements = []
    if silo_arns:
        statements.append(
            {
                "Sid": "TenantTablesDataAccess",
                "Effect": "Allow",
                "Action": _actions(writable),
                "Resource": _resources(silo_arns),
            }
        )
    if pool_arns:
        statements += _pool_statements(pool_arns, tenant_id, writable)
    if not statements:
        raise ValueError("a tenant data policy needs at least one table")
    return _document(*statements)


def leading_keys_pattern(tenant_id: str) -> str:
    """The `dynamodb:LeadingKeys` pattern (IAM StringLike) of a pooled tenant's keys."""
    return f"{tenant_id}{POOL_KEY_SEPARATOR}*"


def _pool_statements(pool_table_arns: Sequence[str], tenant_id: str, writable: bool) -> list:
    """The data actions on the pool tables and their indexes, for items whose partition keys
    all lead with the tenant's id.

    `ForAllValues` holds for a request that names no key at all, so the item actions also
    require the key to be present (`Null: false`); DescribeTable, which names no item, has a
    statement of its own.
    """
    resources = _resources(pool_table_arns)
    item_actions = [action for action in _actions(writable) if action not in TABLE_ACTIONS]
    return [
        {
            "Sid": "PoolTablesOwnItems",
            "Effect": "Allow",
            "Action": item_actions,
            "Resource": resources,
            "Condition": {
                "ForAllValues:StringLike": {
                    "dynamodb:LeadingKeys": [leading_keys_pattern(tenant_id)]
                },
                "Null": {"dynamodb:LeadingKeys": "false"},
            },
        },
        {
            "Sid": "PoolTablesDescribe",
            "Effect": "Allow",
            "Action": list(TABLE_ACTIONS),
            "Resource": resources,
        },
    ]


def role_name(tenant_id: str) -> str:
    """The tenant role's logical name in the program (Pulumi adds a suffix to the physical
    name); `salestalk provision` names the role it makes this way on a local endpoint."""
    return f"{tenant_id}-data-access"


def role_description(tenant_id: str, tier: str) -> str:
    return f"Data access to tenant {tenant_id}'s data only ({tier})"
