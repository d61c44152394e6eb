"""Input files: JSON arrays and JSON Lines, malformed files, and the quarantine file."""

from __future__ import annotations

import base64
import io
import json
import stat
from decimal import Decimal

import pytest

from ingestion.records.sources import (
    MAX_LINE_BYTES,
    InputFileError,
    Quarantine,
    QuarantineExistsError,
    new_quarantine_path,
    read_records,
)
from ingestion.writing.ingest_report import FieldError


def records(text: bytes | str) -> list:
    data = text.encode() if isinstance(text, str) else text
    return list(read_records(io.BytesIO(data), "test.json"))


def test_a_json_array_yields_items_with_exact_numbers():
    (first, second) = records('[{"a": 0.1}, {"b": 1.10, "c": 7}]')
    assert (first.location, second.location) == ("item 1", "item 2")
    assert first.data == {"a": Decimal("0.1")}
    assert str(second.data["b"]) == "1.10" and second.data["c"] == 7


def test_json_lines_yield_lines_and_skip_blank_ones():
    found = records('{"a": 1}\n\n  \n{"a": 2}\r\n')
    assert [(r.location, r.data) for r in found] == [("line 1", {"a": 1}), ("line 4", {"a": 2})]
    assert found[1].raw == '{"a": 2}'


def test_a_broken_line_costs_only_that_line():
    found = records('{"a": 1}\n{"a": \n{"a": 3}\n')
    assert [r.data for r in found] == [{"a": 1}, None, {"a": 3}]
    assert found[1].error.field == "(line)"
    assert "is not valid JSON" in found[1].error.reason
    assert found[1].raw == '{"a": '


def test_nan_and_infinity_reach_the_contract_to_be_named_there():
    (found,) = records('{"value": NaN, "confidence": Infinity}')
    assert found.data["value"].is_nan() and found.data["confidence"].is_infinite()


def test_an_over_long_line_is_refused_without_holding_it():
    long_line = b'{"content": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}\n'
    found = records(b'{"a": 1}\n' + long_line + b'{"a": 3}\n')
    assert [r.data for r in found] == [{"a": 1}, None, {"a": 3}]
    assert f"over the {MAX_LINE_BYTES:,} limit" in found[1].error.reason


def test_a_byte_order_mark_inside_the_file_is_named_on_its_line():
    found = records('{"a": 1}\n\ufeff{"a": 2}\n{"a": 3}\n')
    assert [r.data for r in found] == [{"a": 1}, None, {"a": 3}]
    assert "BOM" in found[1].error.reason


def test_a_line_that_is_not_utf8_is_refused_alone():
    found = records(b'{"a": 1}\n{"a": "\xff"}\n')
    assert found[1].error.reason.startswith("is not UTF-8 text")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "test.json is empty"),
        (b"   \n\n", "test.json is empty"),
        (b"\x00\x01\x02binary", "test.json is binary"),
        (b'[{"a": 1}, {"a": 2', "test.json is not a valid JSON array (line 1, column"),
        (b"[1, 2,]", "not a valid JSON array"),
        (b'[{"a": 1} {"b": 2}]', "expected ',' or ']' after item 1"),
        (b'[{"a": 1}]\n{"b": 2}', "more text after the array"),
    ],
)
def test_malformed_files_are_clear_errors(content, message):
    with pytest.raises(InputFileError, match=message.replace("(", r"\(")):
        records(content)


def test_not_json_at_all_is_one_bad_record_per_line():
    found = records("this is not json\nnor this\n")
    assert [r.error.field for r in found] == ["(line)", "(line)"]


def test_quarantine_is_created_only_when_needed_and_keeps_what_was_received(tmp_path):
    path = tmp_path / "out" / "q.jsonl"
    quarantine = Quarantine(path)
    assert not path.exists()
    good, broken, binary = records(b'{"value": NaN, "x": 0.50}\n{"oops": \n{"a": "\xff\xfe"}\n')
    quarantine.reject(good, [FieldError("value", "must be a finite number")])
    quarantine.reject(broken, [broken.error])
    quarantine.reject(binary, [binary.error])
    quarantine.close()
    first, second, third = (json.loads(line) for line in path.read_text().splitlines())
    assert first == {
        "source": "test.json",
        "location": "line 1",
        "outcome": "rejected",
        "errors": [{"field": "value", "reason": "must be a finite number"}],
        "raw": '{"value": NaN, "x": 0.50}',  # the very text: NaN and 0.50 as written
    }
    assert second["raw"] == '{"oops": '
    assert base64.b64decode(third["rawBase64"]) == b'{"a": "\xff\xfe"}'  # the very bytes
    assert third["errors"] == [{"field": "(line)", "reason": "is not UTF-8 text (byte 8)"}]
    assert quarantine.count == 3
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds message content


def test_a_quarantine_never_writes_over_an_existing_file(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text("an earlier run\n")
    quarantine = Quarantine(path)
    with pytest.raises(QuarantineExistsError, match="each run writes its own quarantine file"):
        quarantine.check_free()
    (bad,) = records("not json\n")
    with pytest.raises(QuarantineExistsError):
        quarantine.reject(bad, [bad.error])
    assert path.read_text() == "an earlier run\n"


def test_two_runs_in_the_same_second_get_two_quarantine_files(tmp_path):
    names = {new_quarantine_path(tmp_path, "acme-metrics") for _ in range(1000)}
    assert len(names) == 1000
    assert all(name.parent == tmp_path and name.suffix == ".jsonl" for name in names)
