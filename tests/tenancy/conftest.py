from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def project_copy(tmp_path, monkeypatch) -> Path:
    """A scratch copy of the project's Pulumi files that commands may edit."""
    for name in ("Pulumi.yaml", "Pulumi.local.yaml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    monkeypatch.setenv("SALESTALK_PROJECT_DIR", str(tmp_path))
    return tmp_path
