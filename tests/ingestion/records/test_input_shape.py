"""A file that is plainly not records of the kind asked for: one line, nothing written, and
nothing valid ever refused by the look ahead."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tenancy.cli import main
from tests.ingestion.conftest import ACME, all_items, make_message, make_metric

METRICS_TABLE = f"tenant-{ACME}-metrics"


def ingest(capsys, kind: str, path) -> tuple[int, str, str]:
    status = main(["ingest", kind, "--tenant", ACME, str(path)])
    out, err = capsys.readouterr()
    return status, out, err


def test_a_csv_export_is_refused_in_one_line(capsys, tables, tmp_path):
    path = tmp_path / "metrics.csv"
    rows = [
        "tenantId,subject,period,value",
        *(f"{ACME},revenue,2024-0{n},{n}" for n in range(1, 8)),
    ]
    path.write_text("\n".join(rows) + "\n")
    status, out, err = ingest(capsys, "metrics", path)
    assert status == 2 and out == ""
    assert err.count("\n") == 1
    assert "looks like CSV (its first line is 'tenantId,subject,period,value')" in err
    assert "reads JSON Lines, one metric object per line" in err
    assert all_items(tables, METRICS_TABLE) == []


@pytest.mark.parametrize(
    ("given", "asked", "holds"),
    [("message", "metrics", "messages"), ("metric", "messages", "metrics")],
)
def test_records_of_the_other_kind_are_named(capsys, tables, tmp_path, given, asked, holds):
    make = make_message if given == "message" else make_metric
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(make(n)) + "\n" for n in range(40)))
    status, _, err = ingest(capsys, asked, path)
    assert status == 2 and err.count("\n") == 1
    assert f"holds {holds}, not {asked}: its first " in err
    assert f" records are valid {holds}. Ingest it with `salestalk ingest {holds} " in err


def test_one_valid_record_among_bad_ones_is_ingested_as_always(capsys, tables, tmp_path):
    path = tmp_path / "mixed.jsonl"
    lines = ["not json", json.dumps(make_message(1)), json.dumps(make_metric(1)), "a,b,c"]
    path.write_text("\n".join(lines) + "\n")
    status, out, _ = ingest(capsys, "metrics", path)
    assert status == 1  # three refused line by line, as always
    assert "4 received: 1 written, 0 duplicates, 0 conflicts, 3 rejected" in out
    assert len(all_items(tables, METRICS_TABLE)) == 1


def test_a_csv_piped_in_is_refused_too(tables, endpoint_url):
    argv = [sys.executable, "-m", "tenancy.cli", "ingest", "metrics", "--tenant", ACME, "-"]
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url}
    piped = subprocess.run(
        argv,
        input="subject,period,value\nrevenue,2024-01,1\n",
        capture_output=True,
        text=True,
        env=env,
    )
    assert piped.returncode == 2
    assert piped.stderr.count("\n") == 1 and "looks like CSV" in piped.stderr
    assert "Traceback" not in piped.stderr


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "utf-8 bom"])
@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b""], ids=["lf", "crlf", "no newline"])
def test_a_file_whose_only_record_repeats_a_key_rejects_that_record_alone(
    capsys, tables, tmp_path, bom, ending
):
    """JSON that breaks the contract is never judged "not JSON": its one record is refused,
    naming the repeated field, and the file is not called CSV (it holds commas)."""
    record = json.dumps(make_metric(1))
    repeated = record[:-1] + f', "tenantId": "{ACME}"' + "}"
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(bom + repeated.encode() + ending)
    status, out, err = ingest(capsys, "metrics", path)
    assert status == 1, err
    assert "1 received: 0 written, 0 duplicates, 0 conflicts, 1 rejected" in out
    assert "line 1: tenantId: appears more than once in the same JSON object" in err
    assert "looks like CSV" not in err and "is not JSON" not in err
    assert all_items(tables, METRICS_TABLE) == []
