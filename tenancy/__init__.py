"""Tenancy: the roster, the table definitions, the Pulumi components and local provisioning."""
