"""Reading a nightly load's folder: which tenant each file is written to, and what is left."""

from __future__ import annotations

import pytest

from ingestion.writing.bulk_load import LoadFolderError, plan_load
from tests.ingestion.conftest import ACME, TECHSTART


def _tree(root, *paths: str):
    for path in paths:
        target = root / path
        if path.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("[]")
    return root


def test_each_tenant_folder_is_planned_in_kind_order_metrics_first(tmp_path, settings):
    _tree(tmp_path, f"{ACME}/messages.jsonl", f"{ACME}/metrics.json", f"{TECHSTART}/metrics.jsonl")
    plans = {plan.tenant_id: plan for plan in plan_load(tmp_path, settings)}
    assert [kind for kind, _ in plans[ACME].files] == ["metric", "message"]
    assert [path.name for _, path in plans[TECHSTART].files] == ["metrics.jsonl"]
    assert not plans[ACME].problems and not plans[ACME].ignored


def test_a_folder_that_names_no_tenant_of_the_roster_is_never_loaded(tmp_path, settings):
    """The folder's name decides the tenant: a folder for a tenant that is not onboarded (or a
    misspelt one) is reported, never matched to the nearest tenant."""
    _tree(tmp_path, "acme-corp-01/metrics.json", f"{ACME}/metrics.json", "stray.json")
    plans = {plan.tenant_id: plan for plan in plan_load(tmp_path, settings)}
    assert "no tenant 'acme-corp-01' in the roster" in plans["acme-corp-01"].problems[0]
    assert "a file, not a tenant's folder" in plans["stray.json"].problems[0]
    assert not plans[ACME].problems


def test_files_a_load_does_not_read_are_left_alone_and_two_of_a_kind_refused(tmp_path, settings):
    _tree(
        tmp_path,
        f"{ACME}/metrics.json",
        f"{ACME}/notes.txt",
        f"{ACME}/.hidden",
        f"{ACME}/archive/",
        f"{TECHSTART}/messages.json",
        f"{TECHSTART}/messages.jsonl",
    )
    plans = {plan.tenant_id: plan for plan in plan_load(tmp_path, settings)}
    assert [note.split(":")[0] for note in plans[ACME].ignored] == ["archive", "notes.txt"]
    assert [kind for kind, _ in plans[ACME].files] == ["metric"] and not plans[ACME].problems
    assert "messages.json holds messages too; keep one" in plans[TECHSTART].problems[0]


@pytest.mark.parametrize("make", ["missing", "a file", "empty"])
def test_a_folder_that_cannot_be_loaded_is_refused_in_one_line(tmp_path, settings, make):
    folder = tmp_path / "nightly"
    if make == "a file":
        folder.write_text("")
    elif make == "empty":
        folder.mkdir()
    with pytest.raises(LoadFolderError) as refused:
        plan_load(folder, settings)
    assert str(folder) in str(refused.value) and "\n" not in str(refused.value)
