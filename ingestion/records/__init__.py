"""Records: their contracts (pydantic models, JSON Schemas), how each is stored as an item
(`RecordKind`, boto3's codec), and reading them from input files with their quarantine."""
