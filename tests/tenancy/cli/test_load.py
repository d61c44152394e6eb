"""`salestalk load`: a folder of many tenants' files, several tenants at once, one summary."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.ingestion.conftest import ACME, TECHSTART, all_items, make_message, make_metric
from tests.tenancy.cli.test_data_edge_cases import lines, run

SALESTALK = [sys.executable, "-m", "tenancy.cli"]


def _jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    return lines(path, *(json.dumps(r) for r in records))


def test_a_folder_of_tenants_loads_each_into_its_own_tables_once(capsys, tables, tmp_path):
    """Each tenant's files go to its own tables only: a record in acme's folder that names
    techstart is rejected, never written to techstart; a folder of no roster tenant is
    reported; a second load writes nothing new."""
    night = tmp_path / "nightly"
    stray = make_metric(900, tenant_id=TECHSTART)
    _jsonl(night / ACME / "metrics.jsonl", [*(make_metric(n) for n in range(120)), stray])
    _jsonl(night / ACME / "messages.jsonl", [make_message(n) for n in range(30)])
    _jsonl(night / TECHSTART / "metrics.jsonl", [make_metric(n, TECHSTART) for n in range(40)])
    _jsonl(night / "globex-003" / "metrics.jsonl", [make_metric(1, tenant_id="globex-003")])
    (night / ACME / "README.txt").write_text("notes")

    status, out, _ = run(capsys, "load", str(night), "--json", "--workers", "2")
    summary = json.loads(out)
    assert status == 1  # a rejected record and a skipped folder: not clean
    assert (summary["written"], summary["rejected"]) == (120 + 30 + 40, 1)
    tenants = {t["tenantId"]: t for t in summary["tenants"]}
    assert tenants[ACME]["status"] == "loaded" and tenants[TECHSTART]["status"] == "loaded"
    assert tenants["globex-003"]["status"] == "skipped"
    assert "no tenant 'globex-003' in the roster" in tenants["globex-003"]["reason"]
    assert tenants[ACME]["ignored"][0].startswith("README.txt: not a file a load reads")
    assert len(tenants[ACME]["quarantines"]) == 1  # the stray record, as received
    stored = all_items(tables, f"tenant-{TECHSTART}-metrics")
    assert len(stored) == 40 and "row-900" not in {i["sourceId"]["S"] for i in stored}

    status, out, _ = run(capsys, "load", str(night), "--json")
    again = json.loads(out)
    assert (again["written"], again["duplicates"]) == (0, 190)


def test_the_summary_names_each_tenant_and_what_became_of_it(capsys, tables, tmp_path):
    night = tmp_path / "nightly"
    _jsonl(night / ACME / "metrics.jsonl", [make_metric(n) for n in range(5)])
    _jsonl(night / TECHSTART / "metrics.json", [])
    _jsonl(night / TECHSTART / "metrics.jsonl", [])
    status, out, _ = run(capsys, "load", str(night))
    assert status == 1
    assert f"{ACME}: loaded, metrics: 5 received: 5 written" in out
    assert f"{TECHSTART}: skipped (" in out and "holds metrics too; keep one" in out
    assert out.strip().splitlines()[-1].startswith("total: 5 received: 5 written")
    assert "(2 tenants: 1 loaded, 1 skipped)" in out


def test_a_folder_that_is_not_there_is_one_line_and_exit_2(capsys, tmp_path):
    status, _, err = run(capsys, "load", str(tmp_path / "nope"))
    assert status == 2 and err.count("\n") == 1 and "not a folder" in err
    status, _, err = run(capsys, "load", str(tmp_path), "--workers", "0")
    assert status == 2 and "--workers: must be a whole number of at least 1" in err


def test_ctrl_c_stops_every_tenant_with_an_exact_count_and_a_rerun_resumes(
    tables, endpoint_url, tmp_path
):
    """Ctrl-C at a terminal reaches the whole process group (the command and its worker
    processes): each tenant being loaded stops with what it wrote, and the same load run
    again stores the rest, nothing twice."""
    total = 25_000
    night = tmp_path / "nightly"
    for tenant in (ACME, TECHSTART):
        _jsonl(night / tenant / "metrics.jsonl", [make_metric(n, tenant) for n in range(total)])
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url}
    argv = [*SALESTALK, "load", str(night), "--json", "--workers", "2"]
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while len(all_items(tables, f"tenant-{ACME}-metrics")) < 1_000:
        assert process.poll() is None and time.monotonic() < deadline, "no write seen"
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=180)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    first = json.loads(out)
    assert first["interrupted"] and 0 < first["written"] < 2 * total
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    resumed = json.loads(again.stdout)
    assert again.returncode == 0, again.stderr
    assert resumed["duplicates"] == first["written"]  # nothing lost, nothing twice
    assert resumed["written"] + resumed["duplicates"] == 2 * total
    for tenant in (ACME, TECHSTART):
        assert len(all_items(tables, f"tenant-{tenant}-metrics")) == total
