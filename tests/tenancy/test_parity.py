"""The Pulumi program and the local provisioner build the same tables from one definition."""

from __future__ import annotations

import dataclasses

import pytest

from tenancy.provisioner import Provisioner, observe
from tenancy.stack_file import StackFile
from tenancy.tables import all_table_specs
from tests.conftest import engine_features
from tests.support.pulumi_program import TABLE_TYPE, run_program
from tests.support.shapes import shape_from_pulumi_inputs
from tests.support.stacks import local_config


@pytest.mark.parametrize("protect_data", ["false", "true"])
def test_pulumi_inputs_equal_tables_created_on_the_endpoint(dynamodb, protect_data):
    config = local_config()
    config["salestalk:protectData"] = protect_data
    pulumi_tables = {
        shape.name: shape
        for shape in (
            shape_from_pulumi_inputs(r.inputs) for r in run_program(config).of_type(TABLE_TYPE)
        )
    }

    stack_file = StackFile.load("local")
    settings = stack_file.settings()
    if protect_data == "true":
        settings = dataclasses.replace(settings, protect_data=True)
    Provisioner(dynamodb).apply(all_table_specs(settings))
    live_tables = {name: observe(dynamodb, name) for name in pulumi_tables}

    assert set(pulumi_tables) == {spec.name for spec in all_table_specs(settings)}
    # Compared on everything the engine shows (DynamoDB Local has no PITR or tags to show).
    unsupported = engine_features().unsupported_fields()
    for name, shape in pulumi_tables.items():
        assert live_tables[name] == shape.as_seen_by(unsupported), name
