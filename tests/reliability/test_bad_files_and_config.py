"""Malformed input files and bad stack config: a clear error, never a traceback, and nothing
created or written before the problem is reported."""

from __future__ import annotations

import json

import pytest

from tenancy.cli import main
from tenancy.stack_file import MAX_DEPTH, MAX_VALUES
from tests.ingestion.conftest import ACME, all_items, make_metric
from tests.reliability.conftest import salestalk

TABLE = f"tenant-{ACME}-metrics"


def ingest(capsys, path) -> tuple[int, str, str]:
    status = main(["ingest", "metrics", "--tenant", ACME, str(path), "--json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty: expected a JSON array or JSON Lines"),
        (b"\n \n\t\n", "is empty"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "is binary, not JSON"),
        (b'[{"tenantId": "acme-corp-001", "subject": "rev', "is not a valid JSON array"),
        (b'{"records": []}', None),  # JSON, but an object per line: one bad record
        (b"\xff\xfe[\x00{\x00", "is binary, not JSON"),  # UTF-16
    ],
    ids=["empty", "blank", "binary", "truncated-array", "object-not-records", "utf16"],
)
def test_malformed_files(capsys, tables, tmp_path, content, message):
    path = tmp_path / "input"
    path.write_bytes(content)
    status, out, err = ingest(capsys, path)
    if message is None:
        assert status == 1 and json.loads(out)["rejected"] == 1
    else:
        assert status == 2 and message in err
    assert all_items(tables, TABLE) == []


def test_not_json_at_all_is_refused_in_one_line_and_nothing_is_written(capsys, tables, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("quarterly revenue was good\nsee attached spreadsheet\n")
    status, out, err = ingest(capsys, path)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "is not JSON (its first line is 'quarterly revenue" in err
    assert all_items(tables, TABLE) == []


def test_a_truncated_json_lines_file_keeps_every_complete_line(capsys, tables, tmp_path):
    lines = [json.dumps(make_metric(n)) for n in range(5)]
    path = tmp_path / "cut.jsonl"
    path.write_text("\n".join(lines) + "\n" + lines[0][: len(lines[0]) // 2])
    status, out, _ = ingest(capsys, path)
    report = json.loads(out)
    assert status == 1 and (report["written"], report["rejected"]) == (5, 1)


def test_a_huge_line_is_refused_and_the_rest_land(capsys, tables, tmp_path):
    path = tmp_path / "huge.jsonl"
    with path.open("w") as out:
        out.write(json.dumps(make_metric(1)) + "\n")
        out.write(json.dumps({**make_metric(2), "sourceId": "x" * 3_000_000}) + "\n")
        out.write(json.dumps(make_metric(3)) + "\n")
    status, out, _ = ingest(capsys, path)
    report = json.loads(out)
    assert status == 1 and (report["written"], report["rejected"]) == (2, 1)


BAD_STACK_FILES = {
    "broken-yaml": ("config:\n  salestalk:tenants: [\n", "is not valid YAML"),
    "unknown-setting": (
        "{stack}\n  salestalk:tablePrefx: qa-\n",
        "unknown setting salestalk:tablePrefx",
    ),
    "bad-prefix": ("{stack}\n  salestalk:tablePrefix: 'qa prefix/'\n", "salestalk:tablePrefix"),
    "bad-protect": ("{stack}\n  salestalk:protectData: sometimes\n", "salestalk:protectData"),
    "roster-not-a-list": (
        "config:\n  aws:region: us-east-1\n  salestalk:tenants: acme\n",
        "expected a list of tenants",
    ),
    "no-config-mapping": ("- just\n- a list\n", "expected a mapping with a `config:` mapping"),
    "duplicate-tenant": ("{stack}{dup}", "appears more than once"),
    # Thousands of levels would exhaust Python's recursion limit in the YAML composer.
    "deep-list": (
        "{stack}\n  x-deep: " + "[" * 5000 + "]" * 5000 + "\n",
        f"values nest deeper than {MAX_DEPTH} levels",
    ),
    "deep-mapping": (
        "{stack}\n  x-deep: " + "{{a: " * 5000 + "1" + "}}" * 5000 + "\n",
        f"values nest deeper than {MAX_DEPTH} levels",
    ),
    "bad-local-hosts": (
        "{stack}\n  salestalk:localHosts: [localstack:4566]\n",
        "salestalk:localHosts: 'localstack:4566' is not a DNS host name",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_STACK_FILES))
def test_bad_stack_config_is_refused_before_anything_is_created(
    case, capsys, dynamodb, project_copy_with_stack
):
    template, message = BAD_STACK_FILES[case]
    path = project_copy_with_stack
    stack = path.read_text()
    first_tenant = stack[stack.index("    - tenantId: acme-corp-001") :].split("    - tenantId:")[1]
    text = template.format(stack=stack.rstrip("\n"), dup="\n    - tenantId:" + first_tenant)
    path.write_text(text)
    for argv in (["provision"], ["seed"], ["roster", "validate"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert dynamodb.list_tables()["TableNames"] == []


@pytest.fixture
def project_copy_with_stack(tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    project = Path(__file__).resolve().parents[2]
    for name in ("Pulumi.yaml", "Pulumi.local.yaml"):
        shutil.copy(project / name, tmp_path / name)
    monkeypatch.setenv("SALESTALK_PROJECT_DIR", str(tmp_path))
    return tmp_path / "Pulumi.local.yaml"


def billion_laughs(levels: int) -> str:
    """Each anchor is a list of nine aliases of the one before: 9**levels values expanded."""
    lines = ["  x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    lines += [f"  x-a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]\n" for n in range(1, levels)]
    return "".join(lines)


@pytest.mark.parametrize(
    "argv", [["provision"], ["seed"], ["roster", "validate"], ["tables"], ["up"]], ids=" ".join
)
def test_a_billion_laughs_stack_file_is_refused_not_expanded(
    argv, dynamodb, endpoint_url, project_copy_with_stack
):
    """Six levels (531,441 values), not nine (387 million, which hung every command at 3.8 GB
    before the limit): without the limit this file would load, and the command would pass."""
    path = project_copy_with_stack
    path.write_text(path.read_text().rstrip("\n") + "\n" + billion_laughs(6))
    process = salestalk(*argv, endpoint=endpoint_url)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2, err
    assert err.startswith("salestalk: error: Pulumi.local.yaml: ") and err.count("\n") == 1
    assert f"more than {MAX_VALUES:,} values" in err and "Traceback" not in err
    assert dynamodb.list_tables()["TableNames"] == []


def test_a_roster_sharing_defaults_through_anchors_and_a_merge_key_works(
    capsys, dynamodb, project_copy_with_stack
):
    path = project_copy_with_stack
    path.write_text(
        "config:\n"
        "  aws:region: us-east-1\n"
        "  salestalk:protectData: false\n"
        "  x-defaults: &defaults {industry: Software, region: Europe, plan: standard,\n"
        "                         ownerEmail: data@example.com}\n"
        "  salestalk:tenants:\n"
        "    - {<<: *defaults, tenantId: alpha-001, name: Alpha}\n"
        "    - {<<: *defaults, tenantId: beta-002, name: Beta, plan: trial}\n"
    )
    assert main(["roster", "validate"]) == 0
    assert "2 tenants, valid" in capsys.readouterr().out
    assert main(["provision"]) == 0
    tables = dynamodb.list_tables()["TableNames"]
    assert "tenant-alpha-001-messages" in tables  # standard: siloed
    assert "pool-metrics" in tables and "tenant-beta-002-metrics" not in tables  # trial: pooled
