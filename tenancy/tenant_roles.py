"""The tenants' data-access roles and their inline policies, applied to an endpoint serving IAM.

`pulumi up` makes one role per tenant (`components.TenantTables`). `salestalk provision` makes
the same roles from the same definitions (`access_policy`, `tables.tenant_role_tags`) on a local
endpoint that serves IAM (MiniStack, the default engine, and LocalStack), so that a local
stack holds what the program declares: tables, roles and policies. Amazon's DynamoDB Local
serves no IAM; there the roles are left out and provisioning says so.

Convergent like the table provisioner: a second run sends only reads. A role of this stack whose
tenant has left the roster is deleted, as `pulumi up` deletes what the program stops declaring
(a role holds no data; keeping it would keep the access). A role of the same name that another
project or stack owns is never adopted.

Names: Pulumi gives each role a random suffix; here a role is named like the tenant's tables,
`{tablePrefix}.{tenantId}-data-access` (IAM names are unique per account, so the prefix keeps
stacks apart), shortened to a digest of the prefix past IAM's 64 characters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from tenancy.access_policy import (
    assume_role_policy,
    role_description,
    role_name,
    tenant_data_policy,
)
from tenancy.errors import Refused
from tenancy.provisioner import ProvisionError
from tenancy.roster import Tenant, Tier
from tenancy.settings import PREFIX_SEPARATOR, StackSettings
from tenancy.tables import (
    OWNER_TAGS,
    TENANT_TAG,
    base_tags,
    pool_table_specs,
    tenant_role_tags,
    tenant_table_specs,
)

IAM_NAME_LIMIT = 64
ROLE_SUFFIX = role_name("")  # "-data-access": what marks a role as a tenant's


class RoleOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"


@dataclass(frozen=True)
class RoleSpec:
    """One tenant's role as the program declares it, its table ARNs filled in."""

    name: str
    tenant_id: str
    description: str
    tags: Mapping[str, str]
    trust: dict[str, Any]
    policy_name: str
    policy: dict[str, Any]


@dataclass
class RoleResult:
    name: str
    outcome: RoleOutcome
    changes: list[str] = field(default_factory=list)


class RoleOwnershipError(Refused, ProvisionError):
    """A role the definitions name exists and belongs to another project or stack."""


def physical_role_name(settings: StackSettings, tenant_id: str) -> str:
    base = role_name(tenant_id)
    prefix = settings.table_prefix
    if not prefix:
        return base
    name = f"{prefix}{PREFIX_SEPARATOR}{base}"
    if len(name) <= IAM_NAME_LIMIT:
        return name
    digest = hashlib.blake2b(prefix.encode(), digest_size=4).hexdigest()
    return f"{digest}{PREFIX_SEPARATOR}{base}"


def role_specs(settings: StackSettings, table_arn: Callable[[str], str]) -> list[RoleSpec]:
    """Every tenant's role, as `TenantTables` declares it: the tables of each tier that holds
    the tenant's data (both during a move), read-only for a tenant that takes no writes."""
    pool_names = [spec.name for spec in pool_table_specs(settings).values()]
    return [_spec(settings, tenant, pool_names, table_arn) for tenant in settings.roster]


def _spec(
    settings: StackSettings,
    tenant: Tenant,
    pool_names: list[str],
    table_arn: Callable[[str], str],
) -> RoleSpec:
    held = settings.held_tiers(tenant)
    silo = [spec.name for spec in tenant_table_specs(settings, tenant).values()]
    silo_arns = [table_arn(name) for name in silo] if Tier.SILO in held else []
    pool_arns = [table_arn(name) for name in pool_names] if Tier.POOL in held else []
    policy = tenant_data_policy(
        tenant.tenant_id,
        tenant.status.accepts_writes,
        silo_arns=silo_arns,
        pool_arns=pool_arns,
    )
    name = physical_role_name(settings, tenant.tenant_id)
    return RoleSpec(
        name=name,
        tenant_id=tenant.tenant_id,
        description=role_description(tenant.tenant_id, settings.tier(tenant)),
        tags=tenant_role_tags(settings, tenant),
        trust=json.loads(assume_role_policy()),
        policy_name=name,
        policy=json.loads(policy),
    )


def serves_iam(iam) -> bool:
    """True when the endpoint answers IAM (DynamoDB Local answers nothing but DynamoDB)."""
    try:
        iam.list_roles(MaxItems=1)
    except (ClientError, BotoCoreError, ResponseParserError):  # a DynamoDB error, not XML
        return False
    return True


class RoleProvisioner:
    """Brings the tenant roles of one stack in line with their definitions."""

    def __init__(self, iam, settings: StackSettings):
        self.iam = iam
        self.settings = settings

    def results(self, specs: list[RoleSpec]) -> Iterator[RoleResult]:
        for spec in specs:
            yield self._converge(spec)
        yield from self._remove_others({spec.name for spec in specs})

    def _converge(self, spec: RoleSpec) -> RoleResult:
        live = self._role(spec.name)
        if live is None:
            self.iam.create_role(
                RoleName=spec.name,
                AssumeRolePolicyDocument=json.dumps(spec.trust),
                Description=spec.description,
                Tags=_tag_list(spec.tags),
            )
            self._put_policy(spec)
            return RoleResult(spec.name, RoleOutcome.CREATED)
        tags = self._tags(spec.name)
        theirs = {tag: tags[tag] for tag in OWNER_TAGS if tag in tags}
        ours = {tag: spec.tags.get(tag) for tag in OWNER_TAGS}
        if theirs != ours:
            raise RoleOwnershipError(
                f"role {spec.name} exists and is tagged {theirs}, not {ours}: it is not this "
                "stack's and is never adopted; give the stack another tablePrefix"
            )
        changes = []
        if _document(live.get("AssumeRolePolicyDocument")) != spec.trust:
            self.iam.update_assume_role_policy(
                RoleName=spec.name, PolicyDocument=json.dumps(spec.trust)
            )
            changes.append("trust policy")
        if live.get("Description", "") != spec.description:
            self.iam.update_role(RoleName=spec.name, Description=spec.description)
            changes.append("description")
        if tags != dict(spec.tags):
            stale = [key for key in tags if key not in spec.tags]
            if stale:
                self.iam.untag_role(RoleName=spec.name, TagKeys=stale)
            self.iam.tag_role(RoleName=spec.name, Tags=_tag_list(spec.tags))
            changes.append("tags")
        if self._policy(spec) != spec.policy:
            self._put_policy(spec)
            changes.append("data policy")
        outcome = RoleOutcome.UPDATED if changes else RoleOutcome.UNCHANGED
        return RoleResult(spec.name, outcome, changes)

    def _remove_others(self, wanted: set[str]) -> Iterator[RoleResult]:
        """Delete this stack's tenant roles that no roster entry declares any more."""
        ours = base_tags(self.settings)
        paginator = self.iam.get_paginator("list_roles")
        candidates = [
            role["RoleName"]
            for page in paginator.paginate()
            for role in page["Roles"]
            if role["RoleName"].endswith(ROLE_SUFFIX) and role["RoleName"] not in wanted
        ]
        for name in candidates:
            tags = self._tags(name)
            if TENANT_TAG not in tags or any(tags.get(k) != v for k, v in ours.items()):
                continue  # not a tenant role of this stack: someone else's to keep
            for policy in self.iam.list_role_policies(RoleName=name)["PolicyNames"]:
                self.iam.delete_role_policy(RoleName=name, PolicyName=policy)
            self.iam.delete_role(RoleName=name)
            yield RoleResult(name, RoleOutcome.DELETED, [f"tenant {tags[TENANT_TAG]}"])

    def _role(self, name: str) -> dict[str, Any] | None:
        try:
            return self.iam.get_role(RoleName=name)["Role"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
                return None
            raise

    def _tags(self, name: str) -> dict[str, str]:
        listed = self.iam.list_role_tags(RoleName=name)["Tags"]
        return {tag["Key"]: tag["Value"] for tag in listed}

    def _policy(self, spec: RoleSpec) -> dict[str, Any] | None:
        try:
            found = self.iam.get_role_policy(RoleName=spec.name, PolicyName=spec.policy_name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
                return None
            raise
        return _document(found.get("PolicyDocument"))

    def _put_policy(self, spec: RoleSpec) -> None:
        self.iam.put_role_policy(
            RoleName=spec.name,
            PolicyName=spec.policy_name,
            PolicyDocument=json.dumps(spec.policy, sort_keys=True),
        )


def _document(value: Any) -> dict[str, Any] | None:
    """A policy document as IAM returns it: a dict (boto3 decodes it), or URL-encoded JSON."""
    if value is None or isinstance(value, dict):
        return value
    return json.loads(unquote(value))


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


NO_IAM_NOTE = (
    "roles: the endpoint serves no IAM (DynamoDB Local serves only DynamoDB), so the tenant "
    "roles and policies the program declares were not made; LocalStack serves them "
    "(`salestalk local start --engine localstack`)"
)


def provision_roles(
    dynamodb,
    iam,
    settings: StackSettings,
    on_role: Callable[[RoleResult], object] | None = None,
) -> tuple[list[RoleResult], str | None]:
    """Make every tenant's role on a local endpoint serving IAM, after its tables exist (the
    policies name their ARNs as the endpoint reports them); (results, a note or None)."""
    if iam is None:
        return [], None  # real AWS: `pulumi up` makes the roles
    if not serves_iam(iam):
        return [], NO_IAM_NOTE
    arns: dict[str, str] = {}

    def table_arn(name: str) -> str:
        if name not in arns:
            arns[name] = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
        return arns[name]

    results = []
    for result in RoleProvisioner(iam, settings).results(role_specs(settings, table_arn)):
        results.append(result)
        if on_role:
            on_role(result)
    return results, None
