"""A tenant's life cycle beyond its ingests: moving its data between tiers, dropping the copy a
move leaves, exporting and erasing it.

Every operation here reads a tenant's data through `tenant_data` (its own tables, or its keys
in the pool through the tenant index), never trusting a field another tenant could have
written (`ingestion.reading.ownership`), and holds the tenant's writer leases while it works
(`fencing`), so that no ingest writes where the data is being moved from or erased. Each is
resumable: killed at any point, run again, it finishes or says exactly what to do.
"""
