"""The README's first screen answers what people ask first, and its record examples are
records the contracts accept (a README that drifts from the code fails here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ingestion.records.contracts import RECORD_MODELS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
FIRST_SCREEN = "\n".join(README.splitlines()[:60])


def test_the_first_screen_has_contents_the_two_commands_and_their_timings():
    assert "## Contents" in FIRST_SCREEN
    for section in ("The two commands", "Records", "Onboarding walkthrough", "Reports"):
        assert f"[{section}" in FIRST_SCREEN, section
    assert ".venv/bin/salestalk up" in FIRST_SCREEN
    assert ".venv/bin/python -m pytest" in FIRST_SCREEN
    assert re.search(r"about \d+ minutes on a fresh machine", FIRST_SCREEN)
    assert re.search(r"about \d+ minutes on 2 cores", FIRST_SCREEN)


@pytest.mark.parametrize("kind", sorted(RECORD_MODELS))
def test_each_record_example_is_a_valid_record(kind):
    block = re.search(rf"<!-- record-example {kind} -->\s*```json\n(.*?)```", README, re.S)
    assert block, f"the README lost its {kind} example"
    RECORD_MODELS[kind].model_validate(json.loads(block.group(1)))


def test_every_link_inside_the_readme_lands_on_a_heading():
    headings = {
        re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in README.splitlines()
        if line.startswith("## ") or line.startswith("### ")
    }
    links = re.findall(r"\]\(#([^)]+)\)", README)
    assert links and set(links) <= headings, set(links) - headings


def test_the_internals_the_readme_points_at_exist():
    root = Path(__file__).resolve().parents[1]
    for path in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)\)", README):
        assert (root / path).is_file(), path
