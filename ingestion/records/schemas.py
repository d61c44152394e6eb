"""JSON Schemas of the record contracts, for tools that check records without Python.

The schemas are generated from the pydantic models and committed under
`ingestion/records/schemas/`; a test fails when a model changes and the files are not regenerated
(`salestalk schemas`). Rules JSON Schema cannot express (real calendar dates, a timestamp not
in the future, finite numbers) are enforced by the models only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingestion.records.contracts import SCHEMA_VERSION
from ingestion.records.items import KINDS

SCHEMA_DIR = Path(__file__).with_name("schemas")
MODELS = {kind.name: kind.model for kind in KINDS.values()}


def schema(name: str) -> dict[str, Any]:
    generated = MODELS[name].model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"salestalk/{name}.v{SCHEMA_VERSION}.schema.json",
        **generated,
        "title": f"SalesTalk {name} record, schema version {SCHEMA_VERSION}",
    }


def render(name: str) -> str:
    return json.dumps(schema(name), indent=2, sort_keys=True) + "\n"


def write_schemas(folder: Path = SCHEMA_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in MODELS:
        path = folder / f"{name}.schema.json"
        path.write_text(render(name))
        written.append(path)
    return written
