"""SalesTalk data platform: the global tenants-metadata table and one component per tenant."""

import pulumi

from tenancy.components import TenantTables, TenantTablesArgs, load_settings, metadata_table

settings = load_settings()

metadata = metadata_table(settings)
tenants = {
    tenant.tenant_id: TenantTables(tenant.tenant_id, TenantTablesArgs(tenant, settings))
    for tenant in settings.roster
}

pulumi.export("metadataTable", metadata.name)
pulumi.export("metadataTableArn", metadata.arn)
pulumi.export("tenants", {tenant_id: component.outputs for tenant_id, component in tenants.items()})
