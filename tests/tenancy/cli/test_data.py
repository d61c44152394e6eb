"""`salestalk seed`, `ingest` and `query` end to end against the session's engine over HTTP."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import pytest

from tenancy.cli import main
from tests.ingestion.conftest import (
    ACME,
    TECHSTART,
    all_items,
    make_message,
    make_metric,
    seed_records,
)
from tests.support.ports import free_port


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys, *argv: str) -> tuple[int, dict]:
    status, out, _ = run(capsys, *argv, "--json")
    return status, json.loads(out)


def write_jsonl(path, records) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def snapshot(client, tables) -> dict[str, list[str]]:
    """Items without their ingest bookkeeping, to compare runs."""
    return {table: sorted(str(item) for item in all_items(client, table)) for table in tables}


TABLES = [
    "tenants-metadata",
    f"tenant-{ACME}-messages",
    f"tenant-{ACME}-metrics",
    f"tenant-{TECHSTART}-messages",
    f"tenant-{TECHSTART}-metrics",
]


def test_seed_twice_gives_the_same_items_and_writes_nothing_new(capsys, tables):
    status, first = run_json(capsys, "seed")
    assert status == 0
    assert first == {
        "received": 30,
        "written": 30,
        "duplicates": 0,
        "conflicts": 0,
        "rejected": 0,
        "updated": 0,
        "quarantine": None,
    }
    before = snapshot(tables, TABLES)
    assert [len(items) for items in before.values()] == [2, 4, 10, 4, 10]

    status, second = run_json(capsys, "seed")
    assert status == 0 and (second["written"], second["duplicates"]) == (0, 30)
    assert snapshot(tables, TABLES) == before


def test_seed_one_tenant_and_an_unknown_tenant(capsys, tables):
    status, report = run_json(capsys, "seed", "--tenant", TECHSTART)
    assert status == 0 and report["written"] == 15  # 1 tenant record + 10 metrics + 4 messages
    assert all_items(tables, f"tenant-{ACME}-metrics") == []
    status, _, err = run(capsys, "seed", "--tenant", "globex-003")
    assert status == 2 and "'globex-003' is not in the roster" in err


def test_reingesting_a_file_reports_every_record_as_duplicate(capsys, tables, tmp_path):
    path = write_jsonl(tmp_path / "m.jsonl", seed_records(ACME, "metrics"))
    status, first = run_json(capsys, "ingest", "metrics", "--tenant", ACME, path)
    assert status == 0 and first["written"] == 10
    status, again = run_json(capsys, "ingest", "metrics", "--tenant", ACME, path)
    assert status == 0
    assert (again["received"], again["written"], again["duplicates"]) == (10, 0, 10)


def test_a_changed_record_is_a_conflict_unless_updates_are_accepted(capsys, tables, tmp_path):
    records = seed_records(ACME, "metrics")
    run_json(capsys, "ingest", "metrics", "--tenant", ACME, write_jsonl(tmp_path / "a", records))
    changed = write_jsonl(tmp_path / "b", [dict(records[0], value=12_600_000)])

    status, out, err = run(capsys, "ingest", "metrics", "--tenant", ACME, changed)
    assert status == 1
    assert "1 received: 0 written, 0 duplicates, 1 conflicts, 0 rejected" in out
    assert "acme-corp-001:revenue:2025-Q2 is stored with different value" in err

    status, report = run_json(
        capsys, "ingest", "metrics", "--tenant", ACME, changed, "--accept-updates"
    )
    assert status == 0 and (report["updated"], report["conflicts"]) == (1, 0)


def test_a_mixed_file_lands_every_good_record_and_quarantines_every_bad_one(
    capsys, tables, tmp_path
):
    good = [make_message(n) for n in range(6)]
    bad = [
        make_message(10, tenantId=TECHSTART),
        make_message(11, timestamp=1_760_000_000_000),
        make_message(12, classification={"intent": "x", "confidence": 1.5}),
        {k: v for k, v in make_message(13).items() if k != "sessionId"},
    ]
    lines = [json.dumps(r) for r in good[:3] + bad[:2]]
    lines += ["{not json", *(json.dumps(r) for r in good[3:] + bad[2:])]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    quarantine = tmp_path / "bad.jsonl"

    status, report = run_json(
        capsys, "ingest", "messages", "--tenant", ACME, str(path), "--quarantine", str(quarantine)
    )
    assert status == 1
    assert (report["received"], report["written"], report["rejected"]) == (11, 6, 5)
    assert report["quarantine"] == str(quarantine)
    stored = {item["messageId"]["S"] for item in all_items(tables, f"tenant-{ACME}-messages")}
    assert stored == {r["messageId"] for r in good}

    entries = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert [(e["location"], e["errors"][0]["field"]) for e in entries] == [
        ("line 4", "tenantId"),
        ("line 5", "timestamp"),
        ("line 6", "(line)"),
        ("line 10", "classification.confidence"),
        ("line 11", "sessionId"),
    ]
    assert json.loads(entries[1]["raw"])["timestamp"] == 1_760_000_000_000  # as received
    assert "milliseconds" in entries[1]["errors"][0]["reason"]


def test_ingest_from_standard_input(capsys, tables, monkeypatch):
    data = "".join(json.dumps(make_metric(n)) + "\n" for n in range(30))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data.encode())))
    status, report = run_json(capsys, "ingest", "metrics", "--tenant", ACME, "-")
    assert status == 0 and report["written"] == 30


def test_a_json_array_file_in_batch_mode(capsys, tables, tmp_path):
    path = tmp_path / "messages.json"
    path.write_text(json.dumps(seed_records(TECHSTART, "messages")))
    status, report = run_json(
        capsys, "ingest", "messages", "--tenant", TECHSTART, str(path), "--mode", "batch"
    )
    assert status == 0 and report["written"] == 4


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "is binary, not JSON"),
        (b'[{"tenantId": "acme-corp-001"', "is not a valid JSON array"),
    ],
)
def test_a_malformed_file_is_a_clear_error_and_writes_nothing(
    capsys, tables, tmp_path, content, message
):
    path = tmp_path / "input.json"
    path.write_bytes(content)
    status, _, err = run(capsys, "ingest", "metrics", "--tenant", ACME, str(path))
    assert status == 2 and message in err and "Traceback" not in err
    assert all_items(tables, f"tenant-{ACME}-metrics") == []


def test_a_missing_file_and_an_unknown_tenant_are_usage_errors(capsys, tables, tmp_path):
    status, _, err = run(capsys, "ingest", "metrics", "--tenant", ACME, str(tmp_path / "nope"))
    assert status == 2 and "cannot open" in err
    path = write_jsonl(tmp_path / "m.jsonl", [make_metric(1, tenantId="globex-003")])
    status, _, err = run(capsys, "ingest", "metrics", "--tenant", "globex-003", path)
    assert status == 2 and "'globex-003' is not in the roster" in err


def test_an_unreachable_endpoint_is_exit_2(capsys, tmp_path, monkeypatch):
    port = free_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{port}")
    path = write_jsonl(tmp_path / "m.jsonl", [make_metric(1)])
    status, _, err = run(capsys, "ingest", "metrics", "--tenant", ACME, path)
    assert status == 2 and "cannot reach DynamoDB" in err


def test_query_commands_print_tables_or_json(capsys, tables):
    run(capsys, "seed")
    status, out, _ = run(
        capsys, "query", "series", "--tenant", ACME, "revenue", "--from", "2025-Q3"
    )
    assert status == 0 and "2025-Q3" in out and "2025-Q4" in out and "2025-Q2" not in out
    status, out, _ = run(capsys, "query", "session", "--tenant", TECHSTART,
                         "sess-ts-2026-01-19-a", "--json")  # fmt: skip
    messages = json.loads(out)
    assert [m["messageId"] for m in messages] == ["msg-ts-0001", "msg-ts-0002", "msg-ts-0003"]
    assert messages[0]["classification"]["confidence"] == 0.93
    status, out, _ = run(capsys, "query", "tenants", "--owner", "platform@techstart.example")
    assert status == 0 and TECHSTART in out
    status, out, _ = run(capsys, "query", "dimension", "--tenant", ACME, "region:us", "--json")
    assert [m["value"] for m in json.loads(out)] == [410]
    status, _, err = run(capsys, "query", "message", "--tenant", ACME, "missing")
    assert status == 0 and "no matching records" in err
    status, _, err = run(capsys, "query", "series", "--tenant", ACME, "x", "--from", "2025-13")
    assert status == 2 and "month 13 does not exist" in err


def _on_a_terminal(argv: list, env: dict) -> tuple[subprocess.Popen, int]:
    """The command run on a pseudo-terminal of 100 columns: (its process, the terminal's
    leader end, from which a test reads what a person would see)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = subprocess.Popen(argv, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    return process, leader


def test_a_progress_bar_on_a_terminal_and_none_in_a_pipe(tables, tmp_path, endpoint_url):
    path = write_jsonl(tmp_path / "m.jsonl", [make_metric(n) for n in range(300)])
    argv = [sys.executable, "-m", "tenancy.cli", "ingest", "metrics", "--tenant", ACME, path]
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url}
    process, leader = _on_a_terminal(argv, env)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        output += chunk
    assert process.wait() == 0
    text = output.decode()
    # tqdm's bar on the terminal: a file's size is known, so it has a total, a rate and the
    # records read so far; it draws in place (carriage returns, never shown escaped)
    bar = r"acme-corp-001 metrics: 100%\|.*\| ([\d.]+k)/\1 \[.*B/s, 300 records\]"
    assert re.search(bar, text), text
    assert "\r" in text and "\\u000d" not in text

    piped = subprocess.run(argv, capture_output=True, text=True, env=env)
    assert piped.returncode == 0 and "records]" not in piped.stderr and "%|" not in piped.stderr


def test_ctrl_c_on_a_terminal_says_once_how_far_the_ingest_got(tables, tmp_path, endpoint_url):
    """Through a pseudo-terminal, as a person runs it: the bar draws in place, Ctrl-C ends
    it, and one line says how far the ingest got and to run it again (exit 130)."""
    import signal
    import time

    path = write_jsonl(tmp_path / "m.jsonl", [make_metric(n) for n in range(20_000)])
    argv = [sys.executable, "-m", "tenancy.cli", "ingest", "metrics", "--tenant", ACME, path]
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url}
    process, leader = _on_a_terminal(argv, env)
    output, interrupted = b"", False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if not interrupted and b"records]" in output:  # the bar is drawing: Ctrl-C
            process.send_signal(signal.SIGINT)
            interrupted = True
    assert process.wait() == 130, output.decode()
    text = output.decode()
    said = text.split("salestalk: error: ", 1)[1]
    assert said.startswith("interrupted after ") and "run the same command again" in said
    assert text.count("interrupted after ") == 1
    assert "cannot reach DynamoDB" not in text and "Traceback" not in text
    assert "records]" not in said  # the bar is not drawn again after the message
    assert "\\u000d" not in text
