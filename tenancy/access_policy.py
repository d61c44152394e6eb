"""Least-privilege access to one tenant's tables.

Each tenant gets a role whose only permissions are DynamoDB data actions on that tenant's own
tables and their indexes. Scan is left out on purpose: every access pattern is served by a key or
an index (DATA_CONTRACTS.md), so a workload that scans is a bug, not a need.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

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


def tenant_data_policy(table_arns: Sequence[str], writable: bool = True) -> str:
    """The policy document for one tenant, given the ARNs of exactly that tenant's tables;
    read-only for a tenant that takes no new data (suspended, offboarding)."""
    if not table_arns:
        raise ValueError("a tenant data policy needs at least one table")
    resources: list[str] = []
    for arn in table_arns:
        resources += [arn, f"{arn}/index/*"]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "TenantTablesDataAccess",
                    "Effect": "Allow",
                    "Action": list(DATA_ACTIONS if writable else READ_ACTIONS),
                    "Resource": resources,
                }
            ],
        },
        sort_keys=True,
    )
