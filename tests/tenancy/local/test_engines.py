"""The engine list and its one interface: every engine `salestalk local` offers is described
whole by its `EngineKind`, so the endpoint, the commands and the benchmarks need no branch of
their own for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenancy.cli import main
from tenancy.local.engine_kind import ENGINES_DIR_ENV, engines_dir
from tenancy.local.engines import DEFAULT_ENGINE, KINDS, Engine


def test_every_engine_has_a_kind_with_its_own_name_and_process_marker():
    assert set(KINDS) == set(Engine) and next(iter(Engine)) is DEFAULT_ENGINE
    assert len({kind.name for kind in KINDS.values()}) == len(KINDS)
    assert len({kind.marker for kind in KINDS.values()}) == len(KINDS)


def test_the_default_needs_neither_java_nor_a_second_port():
    default = KINDS[DEFAULT_ENGINE]
    assert "Java" not in default.needs and default.problem() is None
    assert default.port_problem(4566) is None


def test_each_install_lives_in_the_engines_folder_named_by_its_version(tmp_path, monkeypatch):
    monkeypatch.delenv(ENGINES_DIR_ENV, raising=False)
    for kind in KINDS.values():
        folder = kind.installed_dir(tmp_path)
        assert folder.parent == engines_dir(tmp_path) == tmp_path / "engines"
        assert folder.name.endswith(kind.version)
    monkeypatch.setenv(ENGINES_DIR_ENV, str(tmp_path / "shared"))
    assert {k.installed_dir(tmp_path).parent for k in KINDS.values()} == {tmp_path / "shared"}


def test_a_data_folder_per_port_under_the_state_folder(tmp_path):
    for kind in KINDS.values():
        assert tmp_path in kind.data_dir(tmp_path, 4566).parents


@pytest.mark.engine
def test_local_install_says_which_engine_and_version_is_where(capsys):
    """MiniStack, the default, is installed already (the session's engine folder, which
    SALESTALK_ENGINES_DIR names): a second install is a no-op that says where it is."""
    default = KINDS[DEFAULT_ENGINE]
    assert main(["local", "install", "--engine", str(DEFAULT_ENGINE)]) == 0
    out = capsys.readouterr().out
    said = f"{default.name} {default.version} is installed in {default.installed_dir(Path('.'))}"
    assert out == said + "\n"
