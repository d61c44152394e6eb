"""`salestalk query` for people and scripts: readable tables, exact JSON and JSON Lines,
pages, and a helpful word when nothing matches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from ingestion.reading.query_output import as_table
from tenancy.cli import main
from tests.ingestion.conftest import ACME, make_message, make_metric
from tests.support.terminal import in_a_terminal

SALESTALK = [sys.executable, "-m", "tenancy.cli"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def total(n: int, subject: str) -> dict:
    """A metric of the series without a dimension."""
    record = make_metric(n, subject=subject)
    del record["dimension"]
    return record


@pytest.fixture
def stored(capsys, tables, tmp_path):
    """Two totals and one subject kept only per region, ingested through the command."""
    metrics = [total(n, "revenue") for n in range(1, 13)]
    metrics += [total(n, "arr") for n in range(1, 4)]
    metrics += [
        make_metric(n, subject="customers", dimension=region)
        for n in range(1, 4)
        for region in ("region:us", "region:canada")
    ]
    messages = [
        make_message(n, content=f"message {n} " + "words " * 40, senderId="user-jdoe")
        for n in range(1, 6)
    ]
    for kind, records in (("metrics", metrics), ("messages", messages)):
        path = tmp_path / f"{kind}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        assert main(["ingest", kind, "--tenant", ACME, str(path)]) == 0
    capsys.readouterr()
    return {"metrics": metrics, "messages": messages}


def test_a_misspelt_subject_gets_the_closest_name_and_what_exists(capsys, stored):
    status, out, err = run(capsys, "query", "series", "--tenant", ACME, "revnue")
    assert status == 1 and out == ""
    assert f"no subject of tenant {ACME} is named 'revnue'; did you mean 'revenue'?" in err
    assert "Known: arr, customers, revenue" in err


def test_a_series_kept_only_per_dimension_says_which_dimensions(capsys, stored):
    status, _, err = run(capsys, "query", "series", "--tenant", ACME, "customers")
    assert status == 1
    assert "'customers' has no series without a dimension; its series are by dimension " in err
    assert "region:canada, region:us: add --dimension region:canada" in err
    assert "add --dimension region:canada" in err


def test_an_unknown_metric_type_is_a_usage_error_with_the_known_ones(capsys, stored):
    status, _, err = run(capsys, "query", "type", "--tenant", ACME, "finacial")
    assert status == 2 and "did you mean 'financial'?" in err


def test_a_known_series_with_nothing_in_range_is_not_an_error(capsys, stored):
    argv = ["query", "series", "--tenant", ACME, "arr", "--from", "2030-01", "--to", "2030-02"]
    status, out, err = run(capsys, *argv)
    assert status == 0 and out == "" and "no matching records in that period range" in err


@pytest.mark.parametrize(
    ("start", "end", "why"),
    [
        ("2025-07", "2025-03", "period range 2025-07..2025-03 ends before it starts"),
        ("2025-Q3", "2025-07", "period range 2025-Q3..2025-07 mixes granularities"),
        ("2025-13", "2025-14", "period '2025-13': month 13 does not exist"),
        ("July", None, "period 'July': must be YYYY, YYYY-Qn, YYYY-MM or YYYY-MM-DD"),
    ],
)
def test_a_range_that_names_no_periods_is_one_line_and_exit_2(capsys, stored, start, end, why):
    argv = ["query", "series", "--tenant", ACME, "revenue", "--from", start]
    argv += ["--to", end] if end else []
    status, out, err = run(capsys, *argv)
    assert (status, out, err) == (2, "", f"salestalk: error: {why}\n")


def test_pages_continue_where_the_last_one_stopped(capsys, stored):
    seen = []
    after: list[str] = []
    for _ in range(10):
        argv = ["query", "series", "--tenant", ACME, "revenue", "--limit", "5", "--json", *after]
        status, out, err = run(capsys, *argv)
        assert status == 0
        seen += [record["period"] for record in json.loads(out)]
        if "more records: add --after" not in err:
            break
        after = ["--after", err.split("--after ", 1)[1].strip().strip("'")]
    assert seen == [m["period"] for m in stored["metrics"][:12]]
    status, _, err = run(capsys, "query", "series", "--tenant", ACME, "revenue", "--after", "x")
    assert status == 2 and "not a page token of this query" in err


def test_json_lines_are_exact_records_one_per_line(capsys, stored):
    status, out, _ = run(capsys, "query", "sender", "--tenant", ACME, "user-jdoe", "--jsonl")
    lines = out.splitlines()
    assert status == 0 and len(lines) == 5
    assert [json.loads(line)["messageId"] for line in lines] == [
        m["messageId"] for m in stored["messages"]
    ]


def test_the_human_table_reads_well_and_fits_the_terminal(stored, endpoint_url):
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url, "COLUMNS": "100"}
    argv = [sys.executable, "-m", "tenancy.cli", "query", "sender", "--tenant", ACME, "user-jdoe"]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert all(len(line) <= 100 for line in lines), lines
    assert lines[0].startswith(f"tenantId: {ACME}; ")  # said once, not on every row
    header = next(line for line in lines if line.startswith("messageId")).split()
    assert "tenantId" not in header and "timestamp" in header
    first = stored["messages"][0]["timestamp"]
    assert datetime.fromtimestamp(first, UTC).strftime("%Y-%m-%d %H:%M:%S") in out
    assert "None" not in out and "…" in out  # long content cut to the width


def test_references_show_as_source_and_id():
    from ingestion.records.contracts import Message

    record = Message.model_validate(
        make_message(1, references=[{"source": "crm", "sourceId": "opp-7", "title": "Deal"}])
    )
    table = as_table([record], width=400)
    assert "crm:opp-7" in table and "{" not in table


def test_one_record_reads_as_a_field_per_line_with_its_content_whole(stored, endpoint_url):
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url}
    message = stored["messages"][0]
    argv = [*SALESTALK, "query", "message", "--tenant", ACME, message["messageId"]]
    out = in_a_terminal(argv, env, 72)
    lines = out.splitlines()
    assert all(len(line) <= 72 for line in lines), lines
    fields = {line.split(":", 1)[0].strip() for line in lines if ": " in line}
    assert {"messageId", "sessionId", "timestamp", "content", "classification.intent"} <= fields
    stamp = datetime.fromtimestamp(message["timestamp"], UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert f"timestamp: {stamp}" in out
    words = " ".join(line.split(": ", 1)[-1].strip() for line in lines if "word" in line)
    assert " ".join(message["content"].split()) in words  # wrapped, never cut
    assert "…" not in out


def test_a_narrow_table_cuts_the_content_not_the_times(stored, endpoint_url):
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url}
    argv = [*SALESTALK, "query", "sender", "--tenant", ACME, "user-jdoe"]
    out = in_a_terminal(argv, env, 110)
    assert all(len(line) <= 110 for line in out.splitlines())
    for message in stored["messages"]:
        stamp = datetime.fromtimestamp(message["timestamp"], UTC).strftime("%Y-%m-%d %H:%M:%S")
        assert stamp in out and message["messageId"] in out  # whole, not cut
    assert "…" in out  # the content gave way


def test_csv_through_a_pipe_has_the_contracts_columns_and_one_row_a_record(stored, endpoint_url):
    import csv
    import io

    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url}
    argv = [*SALESTALK, "query", "series", "--tenant", ACME, "customers",
            "--dimension", "region:us", "--output", "csv"]  # fmt: skip
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [
        "tenantId", "subject", "period", "metricType", "value", "unit", "dimension",
        "confidence", "source", "sourceId",
    ]  # fmt: skip
    expected = [m for m in stored["metrics"] if m.get("dimension") == "region:us"]
    assert [r["period"] for r in rows] == [m["period"] for m in expected]
    assert {r["dimension"] for r in rows} == {"region:us"}
    assert [r["value"] for r in rows] == [str(m["value"]) for m in expected]


def test_json_keeps_epoch_seconds_as_its_help_says(stored, endpoint_url, capsys):
    from tenancy.cli.app import build_parser

    message = stored["messages"][0]
    assert main(["query", "message", "--tenant", ACME, message["messageId"], "--json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["timestamp"] == message["timestamp"]  # exact, as stored
    sub = build_parser()._subparsers._group_actions[0].choices["query"]
    message_parser = sub._subparsers._group_actions[0].choices["message"]
    assert "Unix epoch seconds" in message_parser.format_help()
