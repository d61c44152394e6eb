"""Tenant isolation, attacked: a foreign item planted in a tenant's table, tables of other
stacks and tenants under the names provisioning wants, and two stacks sharing an account.

The table naming rule itself is proven injective in `tests/tenancy/test_tables.py`.
"""

from __future__ import annotations

import pytest

from ingestion.reading.queries import TenantReader
from ingestion.records.items import MESSAGE, METRIC, serialize
from ingestion.writing.writer import TenantWriter
from tenancy.cli import main
from tenancy.endpoint_features import Feature
from tests.conftest import engine_features
from tests.ingestion.conftest import (
    ACME,
    TECHSTART,
    all_items,
    as_source,
    make_message,
    make_metric,
)

MESSAGES = f"tenant-{ACME}-messages"
METRICS = f"tenant-{ACME}-metrics"

# What a planted item says its tenant is: another tenant, a tenant not in the roster, a near
# miss of the reader's own id, nothing at all.
FOREIGN_TENANTS = {
    "another tenant": TECHSTART,
    "not in the roster": "globex-003",
    "own id with a trailing space": f"{ACME} ",
    "own id in capitals": ACME.upper(),
    "no tenantId": None,
}


def plant(client, table: str, item: dict) -> None:
    """Put an item by hand, as a buggy or malicious writer could, bypassing the platform."""
    client.put_item(TableName=table, Item=serialize(item))


def stored_item(client, table: str, key: str, value: str) -> dict:
    from ingestion.records.items import deserialize

    (item,) = [deserialize(i) for i in all_items(client, table) if i[key]["S"] == value]
    return item


@pytest.fixture
def acme_data(tables, settings):
    TenantWriter(tables, settings, ACME, MESSAGE).ingest(
        as_source([make_message(n, sessionId="sess-shared", senderId="user-1") for n in range(3)])
    )
    TenantWriter(tables, settings, ACME, METRIC).ingest(
        as_source([make_metric(n, dimension="region:emea", subject="revenue") for n in range(3)])
    )
    return tables


def reads(reader: TenantReader, message_id: str, record_key: str):
    """Every read path of a tenant's reader that would return the planted items."""
    return {
        "message": lambda: reader.message(message_id),
        "session": lambda: reader.session_messages("sess-shared"),
        "sender": lambda: reader.sender_messages("user-1"),
        "metric": lambda: reader.metric(record_key),
        "series": lambda: reader.metric_series("revenue", dimension="region:emea"),
        "type": lambda: reader.metrics_by_type("operational"),
        "dimension": lambda: reader.metrics_by_dimension("region:emea"),
        "all metrics": lambda: reader.all_metrics(),
    }


@pytest.mark.parametrize("foreign", FOREIGN_TENANTS.values(), ids=FOREIGN_TENANTS.keys())
def test_a_reader_skips_and_reports_an_item_of_another_tenant_on_every_read_path(
    acme_data, settings, foreign
):
    message = stored_item(acme_data, MESSAGES, "messageId", "msg-000001")
    metric = stored_item(acme_data, METRICS, "sourceId", "row-1")
    for item in (message, metric):
        if foreign is None:
            del item["tenantId"]
        else:
            item["tenantId"] = foreign
    plant(acme_data, MESSAGES, message)
    plant(acme_data, METRICS, metric)

    paths = reads(TenantReader(acme_data, settings, ACME), "msg-000001", metric["recordKey"])
    for name in paths:
        reader = TenantReader(acme_data, settings, ACME)
        found = reads(reader, "msg-000001", metric["recordKey"])[name]()
        records = found if isinstance(found, list) else [found] if found else []
        assert all(record.tenant_id == ACME for record in records), name
        assert "msg-000001" not in {getattr(r, "message_id", None) for r in records}, name
        assert reader.refused.count == 1, name
        (refused,) = reader.refused.shown
        assert refused.table in (MESSAGES, METRICS)
        named = f"it names tenant {foreign!r}" if foreign is not None else "it names no tenant"
        assert named in refused.why, name
    assert len(paths) == 8


def test_the_query_command_skips_the_foreign_item_and_says_so(acme_data, capsys):
    item = stored_item(acme_data, MESSAGES, "messageId", "msg-000002")
    plant(acme_data, MESSAGES, {**item, "tenantId": TECHSTART, "content": "not yours"})
    status = main(["query", "session", "--tenant", ACME, "sess-shared", "--jsonl"])
    out, err = capsys.readouterr()
    assert status == 0  # the tenant's own records are served
    assert "not yours" not in out and len(out.splitlines()) == 2
    assert f"skipped 1 item that is not tenant {ACME!r}'s records" in err
    assert "msg-000002" in err and f"it names tenant {TECHSTART!r}" in err
    assert "Traceback" not in err


def test_reads_of_the_tenants_own_items_still_work_beside_the_check(acme_data, settings):
    reader = TenantReader(acme_data, settings, ACME)
    assert [m.message_id for m in reader.session_messages("sess-shared")] == [
        "msg-000000",
        "msg-000001",
        "msg-000002",
    ]
    assert not reader.refused


# --- provisioning never adopts what belongs to another stack or tenant ----------------------


def stack_settings(stack: str, prefix: str = ""):
    from tenancy.settings import StackSettings
    from tests.support.stacks import local_roster

    return StackSettings.from_values(stack, {"tenants": local_roster(), "tablePrefix": prefix})


def provision(client, settings):
    from tenancy.provisioner import Provisioner
    from tenancy.tables import all_table_specs

    return Provisioner(client).apply(all_table_specs(settings))


def tags_of(client, table: str) -> dict[str, str]:
    arn = client.describe_table(TableName=table)["Table"]["TableArn"]
    return {t["Key"]: t["Value"] for t in client.list_tags_of_resource(ResourceArn=arn)["Tags"]}


def retag(client, table: str, **tags: str) -> None:
    arn = client.describe_table(TableName=table)["Table"]["TableArn"]
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


OWNERS = {
    "another stack": {"stack": "staging"},
    "another tenant": {"tenant-id": TECHSTART},
    "another project": {"project": "billing"},
    "a tenant table under the metadata name": {"tenant-id": ACME, "scope": "tenant"},
}


@pytest.mark.needs(Feature.TAGS)
@pytest.mark.parametrize("owner", OWNERS.values(), ids=OWNERS.keys())
def test_provisioning_stops_before_adopting_a_table_someone_else_owns(dynamodb, owner):
    from tenancy.provisioner import OwnershipError

    provision(dynamodb, stack_settings("local"))
    victim = "tenants-metadata" if "scope" in owner else f"tenant-{ACME}-metrics"
    retag(dynamodb, victim, **owner)
    before = {t: tags_of(dynamodb, t) for t in dynamodb.list_tables()["TableNames"]}

    with pytest.raises(OwnershipError) as refused:
        provision(dynamodb, stack_settings("local"))
    assert refused.value.tables == [victim]
    text = str(refused.value)
    assert victim in text and "nothing was changed" in text and "salestalk:tablePrefix" in text
    for tag, value in owner.items():
        if tag != "scope":
            assert f"{tag}={value}" in text
    after = {t: tags_of(dynamodb, t) for t in dynamodb.list_tables()["TableNames"]}
    assert after == before  # not one tag rewritten


@pytest.mark.needs(Feature.TAGS)
def test_the_provision_command_exits_2_naming_the_table_its_owner_and_the_way_out(tables, capsys):
    retag(tables, f"tenant-{TECHSTART}-messages", stack="prod")
    status = main(["provision"])
    err = capsys.readouterr().err
    assert status == 2
    assert f"tenant-{TECHSTART}-messages" in err and "stack=prod" in err
    assert "aws dynamodb tag-resource" in err and "Traceback" not in err


def test_the_collision_the_old_names_allowed_cannot_happen_on_a_real_endpoint(dynamodb):
    """Stack `s1` with tenant `tenant-acme` and stack `s1-tenant` with tenant `acme` once
    named the same tables; each now provisions its own, and neither touches the other's."""
    from tenancy.settings import StackSettings
    from tests.support.stacks import local_roster

    def roster(tenant_id: str):
        return [{**local_roster()[0], "tenantId": tenant_id}]

    first = StackSettings.from_values(
        "one", {"tenants": roster("tenant-acme"), "tablePrefix": "s1"}
    )
    second = StackSettings.from_values(
        "two", {"tenants": roster("acme"), "tablePrefix": "s1-tenant"}
    )
    provision(dynamodb, first)
    provision(dynamodb, second)
    names = set(dynamodb.list_tables()["TableNames"])
    assert len(names) == 10  # 5 each (metadata, pool, the tenant's two), none shared
    if engine_features().supports(Feature.TAGS):
        for name in names:
            assert tags_of(dynamodb, name)["stack"] == ("one" if name.startswith("s1.") else "two")


@pytest.mark.needs(Feature.TAGS)
def test_a_table_without_owner_tags_is_adopted_and_tagged(dynamodb):
    """A table made by hand under the stack's name (no tags) is this stack's to adopt."""
    from tenancy.provisioner import create_table_request
    from tenancy.tables import all_table_specs

    spec = all_table_specs(stack_settings("local"))[1]
    request = create_table_request(spec)
    del request["Tags"]
    dynamodb.create_table(**request)
    provision(dynamodb, stack_settings("local"))
    assert tags_of(dynamodb, spec.name)["stack"] == "local"
