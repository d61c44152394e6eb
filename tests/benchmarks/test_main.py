"""`python -m benchmarks` writes a BENCHMARKS.md a reader can trust and reproduce."""

from __future__ import annotations

import pytest

from benchmarks.__main__ import main

pytestmark = pytest.mark.engine


def test_the_report_names_machine_versions_targets_figures_and_the_command(tmp_path, capsys):
    output = tmp_path / "BENCHMARKS.md"
    assert main(["--quick", "--only", "memory", "--output", str(output)]) == 0
    text = output.read_text()
    for expected in (
        "quick sizes: not the issue's figures",
        "| processor |",
        "MiniStack 1.",
        "## Targets",
        "peak growth, 2,000 vs 200 records",
        "## Memory of a streamed ingest",
        "| records | file MB |",
        ".venv/bin/python -m benchmarks",
    ):
        assert expected in text
    printed = capsys.readouterr().out
    assert "== memory" in printed and f"wrote {output}" in printed


def test_a_saved_run_renders_again_to_the_same_report(tmp_path):
    measured, saved = tmp_path / "measured.md", tmp_path / "run.json"
    main(["--quick", "--only", "memory", "--output", str(measured), "--json", str(saved)])
    rendered = tmp_path / "rendered.md"
    assert main(["--render", str(saved), "--output", str(rendered)]) == 0
    assert rendered.read_text() == measured.read_text()


def test_a_partial_run_leaves_the_full_report_alone(tmp_path, monkeypatch, capsys):
    import benchmarks.__main__ as entry

    monkeypatch.setattr(entry, "PROJECT_DIR", tmp_path)
    assert main(["--quick", "--only", "memory"]) == 0
    assert not (tmp_path / "BENCHMARKS.md").exists()
    assert "BENCHMARKS.md left as it was (partial run)" in capsys.readouterr().out
