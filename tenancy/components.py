"""Pulumi resources built from the table definitions in `tenancy.tables`.

Resource names are the tables' prefix-free base names, so a tenant's resources keep their
URNs when the roster grows, shrinks or is reordered, and when the table prefix changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from tenancy.access_policy import (
    assume_role_policy,
    role_description,
    role_name,
    tenant_data_policy,
)
from tenancy.pulumi_internals import configured_keys
from tenancy.roster import RosterError, Tenant, Tier
from tenancy.settings import (
    NAMESPACE,
    TENANTS_KEY,
    StackConfigError,
    StackSettings,
)
from tenancy.tables import (
    TENANT_ID_FIELD,
    TENANT_LAYOUTS,
    TableSpec,
    metadata_table_spec,
    pool_table_specs,
    tenant_role_tags,
    tenant_table_specs,
)
from tenancy.tier_guard import TIER_FIELD, check_tiers, deployed_tier, unmoved

TENANT_COMPONENT_TYPE = "salestalk:tenancy:TenantTables"
# The stack output holding each tenant's component outputs, its tier among them: what the
# next run reads back to know where each tenant's data is.
TENANTS_OUTPUT = "tenants"


def table_args(spec: TableSpec) -> aws.dynamodb.TableArgs:
    """The pulumi-aws arguments of one table; GSIs use `key_schemas` (pulumi-aws 7)."""

    def key_schema(hash_key: str, range_key: str | None):
        schema = [
            aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                attribute_name=hash_key, key_type="HASH"
            )
        ]
        if range_key:
            schema.append(
                aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                    attribute_name=range_key, key_type="RANGE"
                )
            )
        return schema

    shape = spec.shape()
    return aws.dynamodb.TableArgs(
        name=spec.name,
        billing_mode=spec.billing_mode,
        hash_key=shape.hash_key,
        range_key=shape.range_key,
        attributes=[
            aws.dynamodb.TableAttributeArgs(name=name, type=kind)
            for name, kind in shape.attributes.items()
        ],
        global_secondary_indexes=[
            aws.dynamodb.TableGlobalSecondaryIndexArgs(
                name=name,
                key_schemas=key_schema(index.hash_key, index.range_key),
                projection_type=index.projection,
                non_key_attributes=list(index.non_key_attributes) or None,
            )
            for name, index in shape.indexes.items()
        ],
        server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
            enabled=spec.server_side_encryption
        ),
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(
            enabled=spec.point_in_time_recovery
        ),
        deletion_protection_enabled=spec.deletion_protection,
        tags=dict(spec.tags),
    )


def data_options(settings: StackSettings, parent: pulumi.Resource | None = None):
    """Options for a data table: on a protected stack Pulumi refuses to delete it (`protect`),
    keeps it in AWS even if it is dropped from state (`retain_on_delete`), and DynamoDB itself
    refuses DeleteTable (deletion protection, set in `table_args`)."""
    return pulumi.ResourceOptions(
        parent=parent, protect=settings.protect_data, retain_on_delete=settings.protect_data
    )


def metadata_table(settings: StackSettings) -> aws.dynamodb.Table:
    spec = metadata_table_spec(settings)
    return aws.dynamodb.Table(spec.logical_name, table_args(spec), opts=data_options(settings))


def pool_tables(settings: StackSettings) -> dict[str, aws.dynamodb.Table]:
    """The stack's pool tables (`pool-messages`, `pool-metrics`), shared by pooled tenants."""
    return {
        kind: aws.dynamodb.Table(spec.logical_name, table_args(spec), opts=data_options(settings))
        for kind, spec in pool_table_specs(settings).items()
    }


@dataclass
class TenantTablesArgs:
    tenant: Tenant
    settings: StackSettings
    # The stack's pool tables, by kind: where a pooled tenant's data lives.
    pool: dict[str, aws.dynamodb.Table]


class TenantTables(pulumi.ComponentResource):
    """One tenant's data and the role that may use only it: for a siloed tenant its own
    table of each kind (`TENANT_LAYOUTS`: messages, metrics); for a pooled one no table, its
    role reaching the pool tables under `dynamodb:LeadingKeys`. Its outputs name the tables
    either way (`messagesTable`, `messagesTableArn`, ... one pair per kind)."""

    tables: dict[str, aws.dynamodb.Table]  # by kind: its own, or the pool's
    data_access_role: aws.iam.Role

    def __init__(
        self, name: str, args: TenantTablesArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(TENANT_COMPONENT_TYPE, name, None, opts)
        tenant, settings = args.tenant, args.settings
        tier, held = settings.tier(tenant), settings.held_tiers(tenant)
        silo_specs = tenant_table_specs(settings, tenant)
        silo = {}
        if Tier.SILO in held:  # siloed, or moving to or from the silo tier
            silo = {
                kind: aws.dynamodb.Table(
                    spec.logical_name, table_args(spec), opts=data_options(settings, self)
                )
                for kind, spec in silo_specs.items()
            }
        pool = args.pool if Tier.POOL in held else {}
        self.tables = silo if tier is Tier.SILO else args.pool

        writable = tenant.status.accepts_writes
        silo_arns = [table.arn for table in silo.values()]
        pool_arns = [table.arn for table in pool.values()]
        policy = pulumi.Output.all(*silo_arns, *pool_arns).apply(
            lambda arns: tenant_data_policy(
                tenant.tenant_id,
                writable,
                silo_arns=arns[: len(silo_arns)],
                pool_arns=arns[len(silo_arns) :],
            )
        )
        self.data_access_role = aws.iam.Role(
            role_name(name),
            assume_role_policy=assume_role_policy(),
            description=role_description(tenant.tenant_id, tier),
            tags=tenant_role_tags(settings, tenant),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            role_name(name),
            role=self.data_access_role.name,
            policy=policy,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.outputs = {TIER_FIELD: str(tier)}
        for layout in TENANT_LAYOUTS:
            table = self.tables[layout.kind]
            self.outputs[f"{layout.kind}Table"] = table.name
            self.outputs[f"{layout.kind}TableArn"] = table.arn
        self.outputs["dataAccessRoleArn"] = self.data_access_role.arn
        self.register_outputs(self.outputs)


def tenant_components(
    settings: StackSettings, pool: dict[str, aws.dynamodb.Table]
) -> pulumi.Output[dict[str, TenantTables]]:
    """One component per tenant, by tenant id, made only once the tier check has passed. A
    tenant whose tier changed without a move fails the program with one error before any
    tenant's resources are registered, so no table leaves the graph even for a moment (and
    Pulumi deletes what a program stops registering only once the program has succeeded)."""
    return tier_check(settings).apply(
        lambda checked: {
            tenant.tenant_id: TenantTables(
                tenant.tenant_id, TenantTablesArgs(tenant, checked, pool)
            )
            for tenant in checked.roster
        }
    )


def tenants_output(components: pulumi.Output[dict[str, TenantTables]]) -> pulumi.Output[dict]:
    """The `tenants` stack output: each tenant's component outputs (its tier among them, which
    the next run's tier check reads back)."""
    return components.apply(
        lambda found: {tenant_id: tables.outputs for tenant_id, tables in found.items()}
    )


def tier_check(settings: StackSettings) -> pulumi.Output[StackSettings]:
    """The settings, once each tenant's tier is checked against the tier this stack last
    deployed, read back from its own `tenants` output through a StackReference to itself
    (pulumi/pulumi#3722). A stack that never deployed has no outputs: nothing to compare. A
    tier changed without a move fails the Output with the roster-style problems
    (`tenancy.tier_guard`), which fails the program, preview and up alike."""
    stack = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    own = pulumi.StackReference(stack)
    return own.outputs.apply(
        lambda outputs: _refuse_unmoved_tiers(settings, (outputs or {}).get(TENANTS_OUTPUT))
    )


def _refuse_unmoved_tiers(settings: StackSettings, tenants: Any) -> Any:
    """The settings, or a refusal. A tier that differs from the last deployment with no move
    in sight may still be a finished move (switched, its old copy dropped, before this
    `pulumi up`): for those tenants only, `tenants-metadata` is asked where their data is
    (a move records it at its switch); what it says stands for the deployed tier."""
    deployed = deployed_from_outputs(tenants)
    doubtful = unmoved(settings, deployed)
    if not doubtful:
        return settings
    reads = [_registered_tier(settings, tenant_id) for tenant_id in doubtful]
    return pulumi.Output.all(*reads).apply(
        lambda tiers: _checked(
            settings, {**deployed, **_known(dict(zip(doubtful, tiers, strict=True)))}
        )
    )


def _checked(settings: StackSettings, deployed: Mapping[str, Tier]) -> StackSettings:
    try:
        check_tiers(settings, deployed, source=_source())
    except RosterError as exc:
        raise pulumi.RunError(str(exc)) from None
    return settings


def _registered_tier(settings: StackSettings, tenant_id: str) -> pulumi.Output[Any]:
    """The tier `tenants-metadata` records for a tenant (None: it records none)."""
    read = aws.dynamodb.get_table_item_output(
        table_name=metadata_table_spec(settings).name,
        key=json.dumps({TENANT_ID_FIELD: {"S": tenant_id}}),
        projection_expression="#tier",
        expression_attribute_names={"#tier": TIER_FIELD},
    )
    return read.apply(lambda result: _tier_of(getattr(result, "item", None)))


def _tier_of(item: Any) -> str | None:
    try:
        return json.loads(item)[TIER_FIELD]["S"] if item else None
    except (ValueError, KeyError, TypeError):
        return None


def _known(tiers: Mapping[str, Any]) -> dict[str, Tier]:
    """The tiers recorded (a tenant without a row, or with no tier in it, keeps the deployed
    tier its stack's outputs say)."""
    known = {}
    for tenant_id, value in tiers.items():
        tier = deployed_tier(value) if value is not None else None
        if tier is not None:
            known[tenant_id] = tier
    return known


def deployed_from_outputs(tenants: Any) -> dict[str, Tier]:
    """Each tenant's tier as the stack's last `tenants` output says (an output from before
    tiers existed names none: the tenant had its own tables)."""
    found = {}
    for tenant_id, outputs in (tenants if isinstance(tenants, Mapping) else {}).items():
        tier = deployed_tier(outputs.get(TIER_FIELD)) if isinstance(outputs, Mapping) else None
        if tier is not None:
            found[tenant_id] = tier
    return found


def _source() -> str:
    return f"stack {pulumi.get_stack()!r}"


def load_settings() -> StackSettings:
    """The stack's `salestalk:*` config, validated; a bad roster stops the program here,
    before any resource is registered, with one message naming each tenant and field.

    Every `salestalk:*` key the stack sets is passed on, so a misspelt setting
    (`salestalk:tablePrefx`) is refused instead of silently ignored.
    """
    config = pulumi.Config(NAMESPACE)
    values = {key: config.get(key) for key in configured_keys(NAMESPACE)}
    values[TENANTS_KEY] = config.get_object(TENANTS_KEY)
    try:
        return StackSettings.from_values(pulumi.get_stack(), values, source=_source())
    except (RosterError, StackConfigError) as exc:
        raise pulumi.RunError(str(exc)) from None
