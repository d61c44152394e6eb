"""An engine installed from a pinned requirements file into a virtual environment of its own.

LocalStack needs Python 3.13 and MiniStack pins a botocore the platform's boto3 cannot use, so
neither can share the project's environment. `pip` does the work; what is written here is the
all-or-nothing part: the environment counts as installed only once a marker is written last.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tenancy.local.engine_kind import EngineUnavailableError

COMPLETE = ".complete"


def python_of(target: Path) -> Path:
    return target / "venv" / "bin" / "python"


def is_installed(target: Path) -> bool:
    return (target / COMPLETE).is_file() and python_of(target).exists()


@contextlib.contextmanager
def install_lock(target: Path) -> Iterator[None]:
    """Held while one command installs `target`: two at once (a test session and `salestalk
    up`, say) would otherwise delete each other's half-made environment."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f"{target.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield


def install_env(target: Path, python: Path, requirements: Path, what: str) -> None:
    """Make `target/venv` with `python` and install exactly `requirements` into it."""
    shutil.rmtree(target, ignore_errors=True)  # a half-made one from an interrupted install
    target.mkdir(parents=True)
    _run([str(python), "-m", "venv", str(target / "venv")], what, "creating its environment")
    _run(
        [
            str(python_of(target)),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",  # the file pins the whole set: nothing else may float in
            "--requirement",
            str(requirements),
        ],
        what,
        "installing its pinned requirements",
    )


def mark_installed(target: Path, version: str) -> None:
    (target / COMPLETE).write_text(version + "\n")  # last: what makes it installed


def _run(argv: list[str], what: str, step: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise EngineUnavailableError(
            f"installing {what} failed while {step}: {done.stderr.strip()[-400:]}"
        )
