"""Reads cost what they return: a page of N is one request of N + 1, its token the key of its
last record (records stored meanwhile shift nothing), and a token of any other query, or of
another tenant's partition, is refused before anything is read."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ingestion.reading.queries import TenantReader
from ingestion.reading.query_pages import PageTokenError
from ingestion.records.items import MESSAGE
from ingestion.writing.strategies import WriteMode
from ingestion.writing.writer import TenantWriter
from tenancy.cli import main
from tests.ingestion.conftest import ACME, TECHSTART, as_source, make_message

SENDER = "user-jdoe"


def ingest(client, settings, tenant_id, numbers) -> None:
    records = [make_message(n, tenant_id, senderId=SENDER) for n in numbers]
    TenantWriter(client, settings, tenant_id, MESSAGE, mode=WriteMode.BATCH).ingest(
        as_source(records)
    )


class Requests:
    """Counts the Query requests a client sends (botocore's own event hook)."""

    def __init__(self, client):
        self.count = 0
        client.meta.events.register("before-call.dynamodb.Query", self._seen)

    def _seen(self, **_):
        self.count += 1


@pytest.fixture
def sender(tables, settings):
    ingest(tables, settings, ACME, range(300))
    return tables


def test_a_page_of_twenty_is_one_request_and_says_more_remain(sender, settings):
    requests = Requests(sender)
    page = TenantReader(sender, settings, ACME).sender_query(SENDER).page(20)
    assert requests.count == 1
    assert [m.message_id for m in page.records] == [f"msg-{n:06d}" for n in range(20)]
    assert page.next_token


def test_pages_follow_each_other_and_end_without_a_token(sender, settings):
    query = TenantReader(sender, settings, ACME).sender_query(SENDER)
    seen, token = [], None
    while True:
        page = query.page(70, token)
        seen += [m.message_id for m in page.records]
        token = page.next_token
        if token is None:
            break
    assert seen == [f"msg-{n:06d}" for n in range(300)]


def test_records_stored_meanwhile_do_not_shift_a_page(sender, settings):
    query = TenantReader(sender, settings, ACME).sender_query(SENDER)
    first = query.page(10)
    # messages timestamped before the page's end arrive: the next page still starts after
    # the last record shown, not ten records in
    ingest(sender, settings, ACME, [-5, -4, -3])
    second = query.page(10, first.next_token)
    assert [m.message_id for m in second.records] == [f"msg-{n:06d}" for n in range(10, 20)]


def test_a_token_of_another_query_or_tenant_is_refused_before_reading(sender, settings):
    ingest(sender, settings, TECHSTART, range(5))
    ours = TenantReader(sender, settings, ACME)
    token = ours.sender_query(SENDER).page(5).next_token
    other_sender = ours.sender_query("user-else")
    with pytest.raises(PageTokenError, match="not a page token of this query"):
        other_sender.page(5, token)
    # a siloed tenant's token positions only within its own table: in another's it is that
    # tenant's own partition, and what it reads there is that tenant's own
    theirs = TenantReader(sender, settings, TECHSTART).sender_query(SENDER).page(5, token)
    assert {m.tenant_id for m in theirs.records} <= {TECHSTART}
    for forged in ("x", "e30", "W10", token[:-3]):
        with pytest.raises(PageTokenError):
            ours.sender_query(SENDER).page(5, forged)


def test_the_command_prints_a_page_and_the_token_of_the_next(sender, capsys):
    argv = ["query", "sender", "--tenant", ACME, SENDER, "--limit", "20", "--jsonl"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 20
    assert "more records: add --after " in err and "more" not in out
    token = err.split("--after ", 1)[1].split()[0].strip("'")
    assert main([*argv, "--after", token]) == 0
    out, _ = capsys.readouterr()
    assert json.loads(out.splitlines()[0])["messageId"] == "msg-000020"


def test_a_reader_that_stops_early_ends_the_read(sender, endpoint_url):
    """`| head -2`: the command stops reading when its output is closed, quietly (141)."""
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url}
    command = (
        f"{sys.executable} -m tenancy.cli query sender --tenant {ACME} {SENDER} --jsonl | head -2;"
        " echo ${PIPESTATUS[0]}"
    )
    done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True)
    lines = done.stdout.splitlines()
    assert [json.loads(line)["messageId"] for line in lines[:2]] == ["msg-000000", "msg-000001"]
    assert lines[2] in ("0", "141")  # 0 when all 300 fit the pipe before head closed it
    assert "Traceback" not in done.stderr


def test_in_the_pool_a_token_never_crosses_into_another_tenants_keys(dynamodb):
    """Pooled tenants share the tables: a token names a partition behind the tenant's id, and
    one of another tenant's is refused before any request (it would read another's keys)."""
    from tenancy.provisioner import Provisioner
    from tenancy.settings import StackSettings
    from tenancy.tables import all_table_specs
    from tests.support.stacks import local_roster

    roster = [{**local_roster()[0], "tenantId": t, "plan": "trial"} for t in ("acme", "acme-corp")]
    pool = StackSettings.from_values("local", {"tenants": roster, "protectData": False})
    Provisioner(dynamodb).apply(all_table_specs(pool))
    for tenant_id in ("acme", "acme-corp"):
        ingest(dynamodb, pool, tenant_id, range(30))
    token = TenantReader(dynamodb, pool, "acme-corp").sender_query(SENDER).page(5).next_token
    requests = Requests(dynamodb)
    with pytest.raises(PageTokenError):
        TenantReader(dynamodb, pool, "acme").sender_query(SENDER).page(5, token)
    assert requests.count == 0
