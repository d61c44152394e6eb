"""The platform attacked as an outsider would, one class of input at a time, each with several
variants: every attack record is rejected alone (field and reason, quarantined as received),
every valid neighbour lands exactly as sent, the counts and the exit status stay true, and no
traceback is ever printed. Different records are never merged.

Each test runs `salestalk ingest` (in-process, or as a real process where the operating system
is part of the attack) against the session's embedded endpoint over HTTP.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from botocore.awsrequest import AWSResponse

from ingestion.reading.queries import TenantReader
from ingestion.records.items import METRIC as METRIC_KIND
from ingestion.records.items import deserialize
from ingestion.writing.strategies import WriteMode
from ingestion.writing.writer import TenantWriter
from tenancy.cli import main
from tests.ingestion.conftest import ACME, all_items, as_source, make_message, make_metric
from tests.support import figures

PROJECT_DIR = Path(__file__).resolve().parents[2]
METRICS = f"tenant-{ACME}-metrics"
MESSAGES = f"tenant-{ACME}-messages"


def ingest(capsys, tmp_path, kind: str, lines: list[str], *options: str, name="in.jsonl"):
    """Ingest these lines through the CLI: (exit status, JSON report, stderr, quarantine)."""
    path = tmp_path / name
    path.write_bytes(b"".join(line.encode("utf-8", "surrogateescape") + b"\n" for line in lines))
    quarantine = tmp_path / f"{name}.quarantine.jsonl"
    argv = ["ingest", kind, "--tenant", ACME, str(path), "--quarantine", str(quarantine)]
    status = main([*argv, *options, "--json"])
    out, err = capsys.readouterr()
    entries = []
    if quarantine.exists():
        entries = [json.loads(line) for line in quarantine.read_text().splitlines()]
    return status, json.loads(out), err, entries


def between_valid(kind: str, attacks: list[str], start: int = 1) -> tuple[list[str], list]:
    """Each attack line between two valid records; (lines, the valid records)."""
    make = make_metric if kind == "metrics" else make_message
    lines, valid = [], []
    for n, attack in enumerate(attacks):
        good = make(start + n)
        valid.append(good)
        lines += [json.dumps(good), attack]
    last = make(start + len(attacks))
    valid.append(last)
    lines.append(json.dumps(last))
    return lines, valid


def assert_only_attacks_rejected(status, report, err, entries, lines, attacks, valid):
    assert "Traceback" not in err
    assert status == 1
    assert report["received"] == len(lines)
    assert (report["written"], report["rejected"]) == (len(valid), len(attacks))
    assert sorted(e["location"] for e in entries) == sorted(
        f"line {lines.index(a) + 1}" for a in attacks
    )
    for entry in entries:
        assert entry["outcome"] == "rejected" and entry["errors"]
        line = lines[int(entry["location"].split()[1]) - 1]
        if "raw" in entry:
            assert entry["raw"] == line  # as received, character for character
        else:
            assert base64.b64decode(entry["rawBase64"]) == line.encode("utf-8", "surrogateescape")


# --- numbers the contract accepts must be storable, and stored exactly ----------------------

LONG_BUT_EXACT = {
    "43 digits written, 1 significant": "1.000000000000000000000000000000000000000000",
    "38 significant then zeros": "12345678901234567890123456789012345678" + "0" * 30,
    "leading zeros": "0.000000000000000000000000000000000000000000000000000000000000005",
    "trailing zeros after a fraction": "2.50000000000000000000000000000000000000000000000",
    "38 digits at the top": "9.9999999999999999999999999999999999999E+125",
    "negative, 44 digits written": "-123.45000000000000000000000000000000000000000",
}


def test_numbers_written_long_but_storable_land_exactly(capsys, tmp_path, tables, settings):
    records = []
    for n, value in enumerate(LONG_BUT_EXACT.values()):
        record = json.dumps(make_metric(n, value="<v>"))
        records.append(record.replace('"<v>"', value))
    status, report, _, entries = ingest(capsys, tmp_path, "metrics", records)
    assert (status, report["written"], report["rejected"], entries) == (0, len(records), 0, [])
    stored = TenantReader(tables, settings, ACME).all_metrics()
    assert sorted(m.value for m in stored) == sorted(Decimal(v) for v in LONG_BUT_EXACT.values())


UNSTORABLE = {
    "39 significant digits": "1.23456789012345678901234567890123456789",
    "38 digits at the bottom of the range": "1.2345678901234567890123456789012345678E-130",
    "below the range": "1E-131",
    "above the range": "1E+126",
    "a 5,000-digit integer": "9" * 5000,
}


def test_numbers_dynamodb_cannot_hold_are_rejected_alone(capsys, tmp_path, tables):
    attacks = [
        json.dumps(make_metric(100 + n, value="<v>")).replace('"<v>"', value)
        for n, value in enumerate(UNSTORABLE.values())
    ]
    lines, valid = between_valid("metrics", attacks)
    status, report, err, entries = ingest(capsys, tmp_path, "metrics", lines)
    assert_only_attacks_rejected(status, report, err, entries, lines, attacks, valid)
    for entry in entries:
        assert entry["errors"][0]["field"] in ("value", "(line)"), entry["errors"]


def test_numbers_that_differ_beyond_the_28th_digit_are_different_records(
    capsys, tmp_path, tables, settings
):
    first = "1.0000000000000000000000000000000000001"
    restated = "1.0000000000000000000000000000000000002"  # differs in the 38th digit

    def line(value):
        return json.dumps(make_metric(7, value="<v>")).replace('"<v>"', value)

    assert ingest(capsys, tmp_path, "metrics", [line(first)], name="a.jsonl")[1]["written"] == 1
    status, report, _, entries = ingest(capsys, tmp_path, "metrics", [line(restated)], name="b")
    assert (status, report["duplicates"], report["conflicts"]) == (1, 0, 1)
    assert entries[0]["outcome"] == "conflict" and entries[0]["differs"] == ["value"]
    status, report, _, _ = ingest(
        capsys, tmp_path, "metrics", [line(restated)], "--accept-updates", name="c"
    )
    assert (status, report["updated"]) == (0, 1)
    (stored,) = TenantReader(tables, settings, ACME).all_metrics()
    assert stored.value == Decimal(restated)


# --- deep nesting: parsed, refused and quarantined without recursion ------------------------

DEPTHS = [40, 200, 1_000, 10_000, 50_000]


def nested(depth: int, where: str) -> str:
    deep = "[" * depth + "]" * depth
    if where == "record":
        return deep
    if where == "field":
        return json.dumps(make_message(900 + depth, content="<x>")).replace('"<x>"', deep)
    objects = '{"a": ' * depth + "1" + "}" * depth  # inside a reference
    return json.dumps(make_message(900 + depth, references="<x>")).replace('"<x>"', objects)


@pytest.mark.parametrize("where", ["record", "field", "reference"])
def test_deeply_nested_lines_are_rejected_alone(capsys, tmp_path, tables, where):
    attacks = [nested(depth, where) for depth in DEPTHS]
    lines, valid = between_valid("messages", attacks)
    status, report, err, entries = ingest(capsys, tmp_path, "messages", lines)
    assert_only_attacks_rejected(status, report, err, entries, lines, attacks, valid)
    for entry in entries:
        assert "levels deep; at most 32 are allowed" in entry["errors"][0]["reason"]


def test_deeply_nested_items_of_a_json_array_are_rejected_alone(capsys, tmp_path, tables):
    good = [make_message(n) for n in range(1, 4)]
    items = [
        json.dumps(good[0]),
        "[" * 20_000 + "]" * 20_000,
        json.dumps(good[1]),
        nested(2_000, "field"),
        json.dumps(good[2]),
    ]
    path = tmp_path / "deep.json"
    path.write_text("[" + ",\n".join(items) + "]")
    quarantine = tmp_path / "q.jsonl"
    argv = ["ingest", "messages", "--tenant", ACME, str(path), "--quarantine", str(quarantine)]
    status = main([*argv, "--json"])
    out, _ = capsys.readouterr()
    report = json.loads(out)
    assert (status, report["written"], report["rejected"]) == (1, 3, 2)
    entries = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert [e["location"] for e in entries] == ["item 2", "item 4"]
    assert [e["raw"] for e in entries] == [items[1], items[3]]


# --- one JSON object naming a key twice is refused, naming the key ---------------------------

DUPLICATE_KEYS = {
    "value twice": '{"value": 1, "value": 2}',
    "tenantId twice": f'{{"tenantId": "{ACME}", "tenantId": "techstart-inc-002"}}',
    "twice inside a nested object": '{"classification": {"intent": "a", "intent": "b"}}',
    "twice, one spelt with an escape": '{"value": 1, "\\u0076alue": 2}',
    "twice, far apart": '{"value": 1, "unit": "count", "source": "x", "value": 1}',
}


def with_duplicate(n: int, fragment: str) -> str:
    record = json.dumps(make_metric(200 + n))
    return record[:-1] + ", " + fragment[1:-1] + "}"


def test_records_naming_a_key_twice_are_rejected_naming_the_key(capsys, tmp_path, tables):
    attacks = [with_duplicate(n, f) for n, f in enumerate(DUPLICATE_KEYS.values())]
    lines, valid = between_valid("metrics", attacks)
    status, report, err, entries = ingest(capsys, tmp_path, "metrics", lines)
    assert_only_attacks_rejected(status, report, err, entries, lines, attacks, valid)
    named = sorted(entry["errors"][0]["field"] for entry in entries)
    # The first repeated key of each record is named (the record's own fields come first).
    assert set(named) <= {"value", "tenantId", "intent", "unit", "source", "subject", "period"}
    for entry in entries:
        assert entry["errors"][0]["reason"] == "appears more than once in the same JSON object"


# --- ids that look alike are never merged; content is kept exactly ----------------------------

LOOKALIKE_IDS = {
    "trailing no-break space": "msg-x\u00a0",
    "leading space": " msg-x",
    "trailing tab": "msg-x\t",
    "zero-width space": "msg-\u200bx",
    "ideographic space": "msg-x\u3000",
    "escape sequence": "msg-\u001b[2Jx",
    "right-to-left override": "msg-\u202ex",
}


@pytest.mark.parametrize("field", ["messageId", "sessionId", "senderId"])
def test_ids_that_print_like_another_are_refused_never_merged(capsys, tmp_path, tables, field):
    original = make_message(1, messageId="msg-x", sessionId="s", senderId="u")
    attacks = [
        json.dumps(make_message(10 + n, **{field: value}))
        for n, value in enumerate(LOOKALIKE_IDS.values())
    ]
    lines = [json.dumps(original), *attacks]
    status, report, err, entries = ingest(capsys, tmp_path, "messages", lines)
    assert "Traceback" not in err and status == 1
    assert (report["written"], report["rejected"], report["conflicts"]) == (1, len(attacks), 0)
    assert {entry["errors"][0]["field"] for entry in entries} == {field}
    assert "\x1b" not in err and "\u202e" not in err  # named, never printed raw


def test_message_content_is_stored_character_for_character(capsys, tmp_path, tables, settings):
    contents = [
        "    def handler(event):\n        return 200\n",
        "  two leading spaces, two trailing  ",
        "\u00a0no-break spaces\u00a0",
        "tabs\tand\r\nline ends\n",
    ]
    records = [make_message(n, content=text) for n, text in enumerate(contents)]
    status, report, _, _ = ingest(capsys, tmp_path, "messages", [json.dumps(r) for r in records])
    assert (status, report["written"]) == (0, len(contents))
    reader = TenantReader(tables, settings, ACME)
    assert [reader.message(r["messageId"]).content for r in records] == contents


# --- nothing from the data reaches the terminal as a control sequence ------------------------


def salestalk(*args: str, stdin=None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tenancy.cli", *args],
        cwd=PROJECT_DIR,
        input=stdin,
        capture_output=True,
        timeout=120,
        **kwargs,
    )


def test_printed_records_and_rejections_never_carry_raw_control_characters(tables, tmp_path):
    hostile = "red \x1b[31m text, \x1b]0;title\x07, \x9b2J, \u202eright-to-left, \r back"
    record = make_message(1, content=hostile, sessionId="sess-hostile")
    bad = dict(make_message(2), senderId="bob\x1b[2J")
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(record) + "\n" + json.dumps(bad) + "\n")
    quarantine = tmp_path / "q.jsonl"
    ingested = salestalk(
        "ingest", "messages", "--tenant", ACME, str(path), "--quarantine", str(quarantine)
    )
    assert ingested.returncode == 1
    for args in (["--json"], []):
        shown = salestalk("query", "session", "--tenant", ACME, "sess-hostile", *args)
        assert shown.returncode == 0
        for output in (shown.stdout, shown.stderr, ingested.stdout, ingested.stderr):
            for raw in (b"\x1b", b"\x07", "\x9b".encode(), "\u202e".encode(), b"\r"):
                assert raw not in output, (args, output)
    as_json = json.loads(
        salestalk("query", "session", "--tenant", ACME, "sess-hostile", "--json").stdout
    )
    assert as_json[0]["content"] == hostile  # escaped for the terminal, still the same JSON


# --- the operating system's edges: closed and empty standard input ---------------------------


def test_closed_standard_input_is_a_clear_error_not_a_traceback(tables):
    closed = subprocess.run(
        [sys.executable, "-m", "tenancy.cli", "ingest", "metrics", "--tenant", ACME, "-"],
        cwd=PROJECT_DIR,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        preexec_fn=lambda: os.close(0),
    )
    assert closed.returncode == 2
    assert b"standard input is closed" in closed.stderr and b"Traceback" not in closed.stderr


def test_empty_standard_input_is_a_clear_error(tables):
    empty = salestalk("ingest", "metrics", "--tenant", ACME, "-", stdin=b"")
    assert empty.returncode == 2
    assert b"is empty" in empty.stderr and b"Traceback" not in empty.stderr


def test_a_json_array_that_breaks_part_way_keeps_what_it_read_and_says_where(
    capsys, tmp_path, tables
):
    good = [json.dumps(make_metric(n)) for n in range(150)]
    path = tmp_path / "broken.json"
    path.write_text("[" + ",".join(good) + ' {"missing": "comma"}]')
    status = main(["ingest", "metrics", "--tenant", ACME, str(path), "--json"])
    out, err = capsys.readouterr()
    assert status == 2 and "Traceback" not in err
    report = json.loads(out)
    assert (report["received"], report["written"]) == (150, 150)
    assert "expected ',' or ']' after item 150" in report["error"]
    assert len(all_items(tables, METRICS)) == 150


# --- an item the endpoint refuses is isolated from its request, never blocking it ------------

MARKER = "refuse-me"


def refuse_marked(client, sent: list[str]):
    """An endpoint that refuses any write request holding the marked item, as an endpoint
    refuses a request for one item it measures as too large."""
    body = json.dumps(
        {"__type": "com.amazon.coral.validate#ValidationException", "message": "Item too big"}
    ).encode()

    class Raw:
        def __init__(self):
            self.data = body

        def stream(self, **kwargs):
            yield body

    def hook(request, event_name, **kwargs):
        sent.append(event_name.rsplit(".", 1)[-1])
        if MARKER.encode() in request.body:
            return AWSResponse(request.url, 400, {}, Raw())
        return None

    client.meta.events.register("before-send.dynamodb.BatchWriteItem", hook)
    client.meta.events.register("before-send.dynamodb.TransactWriteItems", hook)


@pytest.mark.parametrize("mode", list(WriteMode))
@pytest.mark.parametrize("marked", [[0], [57], [0, 99], [13, 14, 15], list(range(0, 300, 50))])
def test_an_item_the_endpoint_refuses_is_rejected_alone_and_the_rest_land(
    tables, settings, mode, marked
):
    records = [make_metric(n, sourceId=MARKER if n in marked else f"row-{n}") for n in range(300)]
    sent: list[str] = []
    refuse_marked(tables, sent)
    report = TenantWriter(tables, settings, ACME, METRIC_KIND, mode=mode).ingest(as_source(records))
    assert (report.written, report.rejected) == (300 - len(marked), len(marked))
    assert sorted(int(r.location.split()[1]) - 1 for r in report.rejections) == marked
    for rejection in report.rejections:
        assert (
            rejection.errors[0].reason == "refused by DynamoDB: ValidationException: Item too big"
        )
    stored = {deserialize(i)["sourceId"] for i in all_items(tables, METRICS)}
    assert MARKER not in stored and len(stored) == 300 - len(marked)
    writes = [op for op in sent if op != "BatchGetItem"]
    clean = 3 if mode is WriteMode.TRANSACTIONAL else 300 // 25  # 100 a transaction, 25 a batch
    figures.record(
        f"refused item isolated ({mode}, {len(marked)} marked)",
        records=300,
        rejected=len(marked),
        write_requests=len(writes),
        write_requests_without_refusals=clean,
    )


# --- currencies are ISO 4217, not any three capitals -----------------------------------------


def test_units_outside_iso_4217_are_rejected_naming_the_unit(capsys, tmp_path, tables):
    attacks = [
        json.dumps(make_metric(300 + n, unit=u))
        for n, u in enumerate(["ABC", "XTS", "EUROS", "usd"])
    ]
    lines, valid = between_valid("metrics", attacks)
    lines.append(json.dumps(make_metric(400, unit="CHF")))
    valid.append(None)
    status, report, err, entries = ingest(capsys, tmp_path, "metrics", lines)
    assert_only_attacks_rejected(status, report, err, entries, lines, attacks, valid)
    assert {e["errors"][0]["field"] for e in entries} == {"unit"}
