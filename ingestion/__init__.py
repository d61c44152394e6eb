"""Ingestion: SalesTalk's records and everything done with them, by role.

- `records`: the contracts, a record as an item, input files and their quarantine;
- `writing`: exactly-once writes (classification, write strategies, lease, requests);
- `reading`: access-pattern queries, pages, the ownership check of every item read;
- `lifecycle`: a tenant's operations (onboarding, seeding, moves, export, erasure);
- `notebook_support`: what the notebooks call.
"""
