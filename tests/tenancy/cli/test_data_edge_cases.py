"""Odd input a user will eventually type: each gets a clear answer, never a traceback."""

from __future__ import annotations

import json

import pytest

from tenancy.cli import main
from tests.ingestion.conftest import ACME, all_items, make_message, make_metric, seed_records

METRICS = f"tenant-{ACME}-metrics"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse's usage errors
        status = exit_.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def ingest(capsys, kind, path, *extra) -> tuple[int, dict, str]:
    status, out, err = run(capsys, "ingest", kind, "--tenant", ACME, str(path), "--json", *extra)
    return status, (json.loads(out) if out.strip() else {}), err


def lines(path, *texts: str):
    path.write_text("".join(text + "\n" for text in texts))
    return path


def test_an_empty_file_is_not_called_a_connection_problem(capsys, tables, tmp_path):
    status, _, err = run(capsys, "ingest", "metrics", "--tenant", ACME, "/dev/null")
    assert status == 2 and "is empty" in err and "cannot reach" not in err


def test_an_unwritable_quarantine_is_a_clear_error(capsys, tables, tmp_path):
    path = lines(tmp_path / "m.jsonl", "{not json")
    status, _, err = run(capsys, "ingest", "metrics", "--tenant", ACME, str(path),
                         "--quarantine", str(tmp_path))  # fmt: skip
    assert status == 2 and str(tmp_path) in err and "cannot reach" not in err


def test_lines_no_parser_or_encoder_can_take_are_refused_alone(capsys, tables, tmp_path):
    good = [json.dumps(make_message(n)) for n in range(3)]
    surrogate = json.dumps(make_message(10, content="bad \ud800 text"))
    huge_int = '{"tenantId": "acme-corp-001", "n": ' + "9" * 5000 + "}"
    tiny = '{"value": 1e-99999999999999999999}'
    path = lines(tmp_path / "m.jsonl", good[0], surrogate, good[1], huge_int, tiny, good[2])
    quarantine = tmp_path / "q.jsonl"
    status, report, _ = ingest(capsys, "messages", path, "--quarantine", str(quarantine))
    assert status == 1 and (report["written"], report["rejected"]) == (3, 3)
    entries = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert [e["location"] for e in entries] == ["line 2", "line 4", "line 5"]
    assert entries[0]["errors"][0]["field"] == "content"
    assert "unable to parse raw data as a unicode string" in entries[0]["errors"][0]["reason"]


def test_a_json_array_with_a_byte_order_mark(capsys, tables, tmp_path):
    path = tmp_path / "metrics.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(seed_records(ACME, "metrics")).encode())
    status, report, _ = ingest(capsys, "metrics", path)
    assert status == 0 and report["written"] == 10


def test_a_repeated_key_is_judged_against_what_is_stored(capsys, tables, tmp_path):
    one, five = make_metric(1, value=1), make_metric(1, value=5)
    ingest(capsys, "metrics", lines(tmp_path / "a", json.dumps(one)))
    _, report, _ = ingest(
        capsys, "metrics", lines(tmp_path / "b", json.dumps(five), json.dumps(one))
    )
    assert (report["conflicts"], report["duplicates"]) == (1, 1)  # line 2 is what is stored

    seven = make_metric(2, value=7)
    _, report, _ = ingest(capsys, "metrics", lines(tmp_path / "c", *[json.dumps(seven)] * 2))
    assert (report["written"], report["duplicates"]) == (1, 1)

    original, restated = make_metric(3, value=10), make_metric(3, value=11)
    path = lines(tmp_path / "d", json.dumps(original), json.dumps(restated))
    status, report, _ = ingest(capsys, "metrics", path, "--accept-updates")
    assert status == 0 and (report["written"], report["updated"]) == (1, 1)
    stored = [i for i in all_items(tables, METRICS) if i["sourceId"]["S"] == "row-3"]
    assert stored[0]["value"]["N"] == "11"


def test_messages_cannot_accept_updates(capsys, tables, tmp_path):
    path = lines(tmp_path / "m.jsonl", json.dumps(make_message(1)))
    status, _, err = run(capsys, "ingest", "messages", "--tenant", ACME, str(path),
                         "--accept-updates")  # fmt: skip
    assert status == 2 and "a stored message is immutable" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["query", "message", "--tenant", ACME, ""],
        ["query", "session", "--tenant", ACME, "  "],
        ["query", "tenants", "--owner", ""],
        ["query", "series", "--tenant", ACME, "revenue", "--from", "2025-Q3", "--to", "2025-Q1"],
        ["local", "start", "--port", "99999"],
    ],
    ids=["empty-id", "blank-session", "empty-owner", "reversed-range", "port-out-of-range"],
)
def test_odd_arguments_are_usage_errors(capsys, tables, argv):
    status, _, err = run(capsys, *argv)
    assert status == 2 and err


def test_seed_before_provision_says_what_to_do(capsys, dynamodb):
    status, _, err = run(capsys, "seed")
    assert status == 2 and "7 tables of stack 'local' do not exist (tenants-metadata, " in err
    assert "run `salestalk up` or `salestalk provision` first" in err
    assert "Is it running?" not in err


def test_up_on_a_stack_without_a_region(capsys, monkeypatch):
    from tenancy.stack_file import StackFile

    stack_file = StackFile.load("local")
    del stack_file.document["config"]["aws:region"]
    monkeypatch.setattr(StackFile, "load", classmethod(lambda cls, *a, **k: stack_file))
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    status, _, err = run(capsys, "up", "--skip-notebooks")
    assert status == 2 and "set `aws:region`" in err


def test_schemas_to_an_impossible_folder(capsys):
    status, _, err = run(capsys, "schemas", "--out", "/dev/null/schemas")
    assert status == 2 and "cannot write the schemas" in err
