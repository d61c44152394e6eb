"""SalesTalk data platform: the global tenants-metadata table, the pool tables and one
component per tenant."""

import gc

import pulumi

from tenancy.components import (
    TenantTables,
    TenantTablesArgs,
    load_settings,
    metadata_table,
    pool_tables,
)

# Pulumi keeps every resource's outputs alive until the program ends, so CPython's cyclic
# collector walks an ever larger heap and frees nothing: half the run at 1,000 tenants, and the
# reason the run grew faster than the roster (see benchmarks/HISTORY.md). The run is one short
# process; its memory is returned when it exits.
gc.disable()

settings = load_settings()

metadata = metadata_table(settings)
pool = pool_tables(settings)
tenants = {
    tenant.tenant_id: TenantTables(tenant.tenant_id, TenantTablesArgs(tenant, settings, pool))
    for tenant in settings.roster
}

pulumi.export("metadataTable", metadata.name)
pulumi.export("metadataTableArn", metadata.arn)
pulumi.export("poolTables", {kind: table.name for kind, table in pool.items()})
pulumi.export("tenants", {tenant_id: component.outputs for tenant_id, component in tenants.items()})
