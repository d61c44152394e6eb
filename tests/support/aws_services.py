"""Which AWS services the provider calls for each resource type the program registers.

pulumi-aws 7 runs the Terraform AWS provider (v6) inside it, so the calls are the Terraform
provider's. Read in hashicorp/terraform-provider-aws (main, 2026):

aws:dynamodb/table:Table (aws_dynamodb_table)
  dynamodb  internal/service/dynamodb/table.go: CreateTable/UpdateTable/DeleteTable, and
            DescribeTable (findTableByName) on every read, and at plan time too:
            validateTableAttributes, a CustomizeDiff, looks the table up by name, so even
            `pulumi preview` calls DescribeTable. wait.go/status.go: waitTableActive and
            waitTableWarmThroughputActive poll DescribeTable after a create.
  kms       table.go: resourceTableRead calls clearSSEDefaultKey, which calls
            kms.FindDefaultKeyARNForService (internal/service/kms/key.go: DescribeKey on
            `alias/aws/dynamodb`) whenever DescribeTable returns an SSEDescription, i.e. for a
            table with serverSideEncryption.enabled (flattenTableServerSideEncryption returns
            nothing for a table on the AWS-owned key). clearReplicaDefaultKeys does the same per
            replica region.
aws:iam/role:Role (aws_iam_role)
  iam       internal/service/iam/role.go: CreateRole/GetRole/UpdateRole, inline and attached
            policy listings, TagRole, DeleteRole.
aws:iam/rolePolicy:RolePolicy (aws_iam_role_policy)
  iam       internal/service/iam/role_policy.go: PutRolePolicy, and GetRolePolicy
            (findRolePolicyByTwoPartKey) on create and read.
The provider itself (whatever the resources)
  sts       internal/conns/config.go configures through hashicorp/aws-sdk-go-base's
            GetAwsAccountIDAndPartition: sts:GetCallerIdentity unless
            skip_credentials_validation, then iam/sts for the account id unless
            skip_requesting_account_id. The local stack sets both skips; sts stays listed so
            that turning either off cannot send the test keys to real STS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tests.support.pulumi_program import ROLE_POLICY_TYPE, ROLE_TYPE, TABLE_TYPE, Registered

PROVIDER_SERVICES = frozenset({"sts"})


def _table(inputs: Mapping[str, Any]) -> set[str]:
    services = {"dynamodb"}
    if (inputs.get("serverSideEncryption") or {}).get("enabled"):
        services.add("kms")  # DescribeKey alias/aws/dynamodb on every read
    if inputs.get("replicas"):
        services.add("kms")  # the same per replica region (the program has no replicas)
    return services


SERVICES_BY_TYPE: dict[str, Callable[[Mapping[str, Any]], set[str]]] = {
    TABLE_TYPE: _table,
    ROLE_TYPE: lambda inputs: {"iam"},
    ROLE_POLICY_TYPE: lambda inputs: {"iam"},
}


class UnmappedResourceTypeError(LookupError):
    pass


def services_called(resources: Iterable[Registered]) -> set[str]:
    """Every AWS service the provider calls for these registered resources (components are
    the program's own and call nothing); a provider resource type without a mapping here is an
    error, so that a new type cannot slip past the endpoint check."""
    services = set(PROVIDER_SERVICES)
    unmapped = set()
    for resource in resources:
        if not resource.custom:
            continue
        mapping = SERVICES_BY_TYPE.get(resource.type)
        if mapping is None:
            unmapped.add(resource.type)
            continue
        services |= mapping(resource.inputs)
    if unmapped:
        raise UnmappedResourceTypeError(
            f"no AWS services mapped for {sorted(unmapped)}: read its Terraform resource in "
            "hashicorp/terraform-provider-aws and add it to SERVICES_BY_TYPE in "
            "tests/support/aws_services.py"
        )
    return services
