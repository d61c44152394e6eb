"""A corpus of malformed records (tests/data/malformed) mixed in with valid ones.

Every malformed record is rejected: the rejection names its field and a reason, the record is
quarantined as it was received, and it is counted. Every valid record lands, and nothing else
does. The test runs the CLI in-process against the session's engine.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ingestion.records.items import MESSAGE, METRIC, RecordKind, deserialize
from tenancy.cli import main
from tests.ingestion.conftest import ACME, all_items, make_message, make_metric
from tests.support import figures

CORPUS_DIR = Path(__file__).resolve().parents[1] / "data" / "malformed"
OVERSIZED = "__OVERSIZED__"  # -> 410,000 characters: over DynamoDB's 400 KB item limit
MANY_REFERENCES = "__MANY_REFERENCES__"  # -> 2,000 references, about 450 KB
VALID_RECORDS = 30

RECORD_KINDS: dict[str, RecordKind] = {"messages": MESSAGE, "metrics": METRIC}
MAKERS = {"messages": make_message, "metrics": make_metric}


def load_corpus(kind: str) -> list[dict[str, Any]]:
    text = (CORPUS_DIR / f"{kind}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


CORPUS = {kind: load_corpus(kind) for kind in RECORD_KINDS}

# The rules the issue names, each with the cases that break them (kind, case id).
CATEGORIES: dict[str, list[tuple[str, str]]] = {
    "missing field": [
        *(("messages", f"missing-{name}") for name in ("tenantId", "messageId", "content")),
        ("messages", "classification-missing-intent"),
        *(("metrics", f"missing-{name}") for name in ("subject", "period", "value", "unit")),
    ],
    "empty field": [
        ("messages", "empty-messageId"),
        ("messages", "whitespace-content"),
        ("messages", "empty-object"),
        ("metrics", "empty-source"),
        ("metrics", "whitespace-sourceId"),
        ("metrics", "empty-object"),
    ],
    "wrong type": [
        ("messages", "timestamp-as-string"),
        ("messages", "timestamp-as-float"),
        ("messages", "content-as-number"),
        ("messages", "confidence-as-boolean"),
        ("messages", "classification-not-an-object"),
        ("messages", "record-is-an-array"),
        ("metrics", "value-as-string"),
        ("metrics", "period-as-number"),
        ("metrics", "record-is-an-array"),
    ],
    "confidence outside [0, 1]": [
        ("messages", "confidence-negative"),
        ("messages", "confidence-above-one"),
        ("metrics", "confidence-above-one"),
        ("metrics", "confidence-negative"),
    ],
    "millisecond timestamp": [("messages", "timestamp-milliseconds")],
    "far-future timestamp": [("messages", "timestamp-far-future")],
    "timestamp before 2000": [("messages", "timestamp-before-2000")],
    "invalid period": [
        ("metrics", "period-month-13"),
        ("metrics", "period-feb-30-non-leap"),
        ("metrics", "period-quarter-Q5"),
        ("metrics", "period-year-1899"),
    ],
    "NaN or infinity": [
        ("messages", "confidence-nan"),
        ("messages", "confidence-infinity"),
        ("metrics", "value-nan"),
        ("metrics", "value-minus-infinity"),
    ],
    "number DynamoDB cannot store": [
        ("messages", "confidence-39-digits"),
        ("metrics", "value-39-digits"),
        ("metrics", "value-above-dynamodb-range"),
    ],
    "oversized item (over 400 KB)": [
        ("messages", "oversized-content"),
        ("messages", "oversized-references"),
        ("metrics", "sourceId-oversized"),  # refused for length before its size matters
    ],
    "unknown field": [
        ("messages", "unknown-top-level-field"),
        ("messages", "classification-unknown-field"),
        ("messages", "snake-case-message_id"),
        ("metrics", "unknown-field"),
        ("metrics", "snake-case-metric_type"),
    ],
    "broken JSON line": [
        ("messages", "not-json"),
        ("messages", "truncated-json"),
        ("metrics", "not-json"),
        ("metrics", "truncated-json"),
    ],
    "wrong tenant": [
        ("messages", "wrong-tenant"),
        ("messages", "tenant-not-in-roster"),
        ("metrics", "wrong-tenant"),
    ],
    "reference without a source": [
        ("messages", "reference-without-source"),
        ("messages", "second-reference-without-sourceId"),
    ],
    "value outside its vocabulary or pattern": [
        ("metrics", "subject-uppercase"),
        ("metrics", "metricType-not-in-vocabulary"),
        ("metrics", "unit-lowercase"),
        ("metrics", "dimension-without-colon"),
    ],
}


def expand(value: Any) -> Any:
    """The record with its placeholders replaced by the large values they stand for."""
    if value == OVERSIZED:
        return "x" * 410_000
    if value == MANY_REFERENCES:
        return [{"source": "crm", "sourceId": f"r-{n:05d}-" + "y" * 200} for n in range(2_000)]
    if isinstance(value, dict):
        return {key: expand(item) for key, item in value.items()}
    if isinstance(value, list):
        return [expand(item) for item in value]
    return value


def input_line(case: dict[str, Any]) -> str:
    return case["line"] if "line" in case else json.dumps(expand(case["record"]))


def exact(text: str) -> Any:
    """JSON text parsed the way the ingest parses it: every fraction an exact Decimal."""
    return json.loads(text, parse_float=Decimal, parse_constant=Decimal)


def read_quarantine_line(line: str) -> dict[str, Any]:
    # A strict reader: a NaN or Infinity token means the quarantine file is not JSON.
    return json.loads(line, parse_float=Decimal, parse_constant=lambda t: f"<not JSON: {t}>")


def canonical(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, default=str)


@dataclass
class CorpusRun:
    path: Path
    quarantine: Path
    status: int
    report: dict[str, Any]
    err: str
    valid: list[dict[str, Any]]
    case_lines: dict[str, int]  # case id -> the input line it was written to
    entries: list[dict[str, Any]]
    items: list[dict[str, Any]]

    def entry_for(self, case_id: str) -> dict[str, Any]:
        location = f"line {self.case_lines[case_id]}"
        matching = [e for e in self.entries if e["location"] == location]
        assert len(matching) == 1, f"{case_id}: {len(matching)} quarantine entries at {location}"
        return matching[0]


def ingest_corpus(kind: str, client, capsys, tmp_path: Path) -> CorpusRun:
    """Valid records interleaved with every corpus case, ingested through the CLI."""
    valid = [MAKERS[kind](n) for n in range(1, VALID_RECORDS + 1)]
    rest: list[tuple[str | None, str]] = [(None, json.dumps(r)) for r in valid[1:]]
    rest += [(case["case"], input_line(case)) for case in CORPUS[kind]]
    random.Random(5).shuffle(rest)
    # A valid record first: a file that starts with '[' would be read as one JSON array.
    lines = [(None, json.dumps(valid[0])), *rest]
    case_lines = {case_id: n for n, (case_id, _) in enumerate(lines, start=1) if case_id}

    path = tmp_path / f"{kind}.jsonl"
    path.write_text("".join(text + "\n" for _, text in lines), encoding="utf-8")
    quarantine = tmp_path / f"{kind}-quarantine.jsonl"
    status = main(
        ["ingest", kind, "--tenant", ACME, str(path), "--quarantine", str(quarantine), "--json"]
    )
    out, err = capsys.readouterr()
    entries = (
        [read_quarantine_line(line) for line in quarantine.read_text("utf-8").splitlines()]
        if quarantine.exists()
        else []
    )
    return CorpusRun(
        path=path,
        quarantine=quarantine,
        status=status,
        report=json.loads(out),
        err=err,
        valid=valid,
        case_lines=case_lines,
        entries=entries,
        items=all_items(client, f"tenant-{ACME}-{kind}"),
    )


def problems_with(case: dict[str, Any], entry: dict[str, Any], run: CorpusRun) -> list[str]:
    """Where a quarantine entry does not meet the case's expectations (empty when it does)."""
    problems = []
    errors = entry["errors"]
    fields = [error["field"] for error in errors]
    if fields[0] != case["field"] and not (len(errors) > 1 and case["field"] in fields):
        problems.append(f"names fields {fields}, not {case['field']!r}")
    reasons = [error["reason"] for error in errors if error["field"] == case["field"]]
    if not any(case["reason"].lower() in reason.lower() for reason in reasons):
        problems.append(f"reasons {reasons} do not contain {case['reason']!r}")
    if entry["source"] != str(run.path):
        problems.append(f"source is {entry['source']!r}")
    if entry.get("outcome") != "rejected":
        problems.append(f"outcome is {entry.get('outcome')!r}")
    received = input_line(case)
    if entry.get("raw") != received:  # the exact text of the line, whatever it holds
        problems.append(f"raw is {str(entry.get('raw'))[:300]!r}, not the line as received")
    return [f"{case['case']}: {problem}" for problem in problems]


@pytest.fixture(scope="module")
def corpus_runs() -> dict[str, CorpusRun]:
    """Each kind's ingest, shared by the per-case tests (run on demand when missing)."""
    return {}


def test_the_corpus_covers_every_rule():
    counts = {kind: len(cases) for kind, cases in CORPUS.items()}
    assert counts["messages"] >= 25 and counts["metrics"] >= 20
    assert sum(counts.values()) >= 40
    for kind, cases in CORPUS.items():
        ids = [case["case"] for case in cases]
        assert len(ids) == len(set(ids)), f"{kind}: duplicate case ids"
        for case in cases:
            assert {"case", "field", "reason"} <= case.keys(), case
            assert ("record" in case) != ("line" in case), case["case"]
            assert "\n" not in input_line(case), case["case"]
            assert case["field"] and case["reason"], case["case"]
    known = {(kind, case["case"]) for kind, cases in CORPUS.items() for case in cases}
    for category, cases in CATEGORIES.items():
        assert cases, category
        assert set(cases) <= known, (category, set(cases) - known)


@pytest.mark.parametrize("kind", sorted(RECORD_KINDS))
def test_malformed_records_are_quarantined_and_valid_ones_all_land(
    kind, tables, capsys, tmp_path, corpus_runs
):
    run = corpus_runs[kind] = ingest_corpus(kind, tables, capsys, tmp_path)
    cases = CORPUS[kind]
    malformed, valid = len(cases), len(run.valid)

    assert "Traceback" not in run.err
    assert run.status == 1
    assert run.report == {
        "received": valid + malformed,
        "written": valid,
        "duplicates": 0,
        "conflicts": 0,
        "rejected": malformed,
        "updated": 0,
        "quarantine": str(run.quarantine),
    }

    # Every valid record is stored exactly as sent, and nothing else is.
    record_kind = RECORD_KINDS[kind]
    stored = sorted(canonical(record_kind.from_item(deserialize(i)).to_record()) for i in run.items)
    expected = sorted(
        canonical(record_kind.model.model_validate(exact(json.dumps(r))).to_record())
        for r in run.valid
    )
    assert stored == expected

    # One quarantine entry per case, at the line the case was written to.
    assert len(run.entries) == malformed
    assert sorted(e["location"] for e in run.entries) == sorted(
        f"line {n}" for n in run.case_lines.values()
    )
    problems = []
    for case in cases:
        entry = run.entry_for(case["case"])
        problems += problems_with(case, entry, run)
    assert problems == []

    figures.record(
        f"malformed corpus ({kind})",
        malformed=malformed,
        valid=valid,
        quarantined=len(run.entries),
        landed=len(run.items),
    )


def case_params() -> list:
    return [
        pytest.param(
            kind,
            case,
            id=f"{kind}-{case['case']}",
        )
        for kind, cases in CORPUS.items()
        for case in cases
    ]


@pytest.mark.engine  # its `tables` fixture is asked for inside, once per kind
@pytest.mark.parametrize(("kind", "case"), case_params())
def test_each_case_is_rejected_naming_its_field_and_quarantined_as_received(
    kind, case, corpus_runs, request
):
    if kind not in corpus_runs:  # this test was selected without the mixed-file one
        corpus_runs[kind] = ingest_corpus(
            kind,
            request.getfixturevalue("tables"),
            request.getfixturevalue("capsys"),
            request.getfixturevalue("tmp_path"),
        )
    run = corpus_runs[kind]
    assert problems_with(case, run.entry_for(case["case"]), run) == []
