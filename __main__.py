"""SalesTalk data platform: the global tenants-metadata table, the pool tables and one
component per tenant."""

import gc

import pulumi

from tenancy.components import (
    TENANTS_OUTPUT,
    load_settings,
    metadata_table,
    pool_tables,
    tenant_components,
    tenants_output,
)

# Pulumi keeps every resource's outputs alive until the program ends, so CPython's cyclic
# collector walks an ever larger heap and frees nothing: half the run at 1,000 tenants, and the
# reason the run grew faster than the roster (see benchmarks/HISTORY.md). The run is one short
# process; its memory is returned when it exits.
gc.disable()

settings = load_settings()

metadata = metadata_table(settings)
pool = pool_tables(settings)
# Refuses (fails the program) a tenant whose tier changed without `salestalk tenant move`.
tenants = tenant_components(settings, pool)

pulumi.export("metadataTable", metadata.name)
pulumi.export("metadataTableArn", metadata.arn)
pulumi.export("poolTables", {kind: table.name for kind, table in pool.items()})
pulumi.export(TENANTS_OUTPUT, tenants_output(tenants))
