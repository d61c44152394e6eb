"""`salestalk report`: refusals before any kernel starts (the pages themselves are checked by
the onboarding walkthrough, `tests/test_onboarding.py`, and in Chromium by
`tests/notebooks/test_in_browser.py`)."""

from __future__ import annotations

import os
import subprocess
import sys

from tenancy.local.endpoint import free_port

SALESTALK = [sys.executable, "-m", "tenancy.cli"]


def _report(*argv: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SALESTALK, "report", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )


def test_a_tenant_not_in_the_roster_is_one_line_and_exit_2(tmp_path, capsys):
    from tenancy.cli import main

    assert main(["report", "--tenant", "nobody-999", "--output", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "nobody-999" in err
    assert list(tmp_path.iterdir()) == []


def test_an_endpoint_that_does_not_answer_is_said_before_any_notebook_runs(
    tmp_path, capsys, monkeypatch
):
    from tenancy.cli import main

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
    assert main(["report", "--tenant", "acme-corp-001", "--output", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"salestalk: error: cannot reach DynamoDB at {url}")
    assert list(tmp_path.iterdir()) == []  # no kernel was started, nothing written


def test_only_per_tenant_notebooks_can_be_named(capsys):
    import pytest

    from tenancy.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["report", "--tenant", "acme-corp-001", "--notebook", "01_seed_and_inspect"])
    assert stopped.value.code == 2
    assert "invalid choice: '01_seed_and_inspect'" in capsys.readouterr().err
