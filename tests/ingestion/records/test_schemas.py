"""The committed JSON Schemas are current, and other tools can check records with them."""

from __future__ import annotations

import json

import jsonschema
import pytest

from ingestion.records.schemas import MODELS, SCHEMA_DIR, render, write_schemas
from tests.ingestion.conftest import ACME, TECHSTART, make_message, seed_records
from tests.support.stacks import local_roster


@pytest.mark.parametrize("name", sorted(MODELS))
def test_committed_schemas_match_the_models(name):
    committed = (SCHEMA_DIR / f"{name}.schema.json").read_text()
    assert committed == render(name), "run `salestalk schemas` and commit the result"


def validator(name):
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("tenant", [ACME, TECHSTART])
def test_seed_records_pass_the_schemas(tenant):
    for kind in ("metric", "message"):
        check = validator(kind)
        for record in seed_records(tenant, f"{kind}s"):
            assert not list(check.iter_errors(record)), record


def test_the_schemas_refuse_what_they_can_express():
    message = validator("message")
    assert not message.is_valid({**make_message(1), "extra": 1})
    assert not message.is_valid(
        {**make_message(1), "classification": {"intent": "x", "confidence": 2}}
    )
    assert not message.is_valid({**make_message(1), "references": [{"source": "crm"}]})
    metric = validator("metric")
    assert not metric.is_valid({**seed_records(ACME, "metrics")[0], "period": "2025-Q5"})
    tenant = validator("tenant")
    assert tenant.is_valid(local_roster()[0])
    assert not tenant.is_valid({**local_roster()[0], "plan": "gold"})


def test_schemas_can_be_written_elsewhere(tmp_path):
    paths = write_schemas(tmp_path)
    assert sorted(p.name for p in paths) == [
        "message.schema.json",
        "metric.schema.json",
        "tenant.schema.json",
    ]
