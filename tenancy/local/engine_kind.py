"""What a local engine is to the rest of the project: one small interface every engine module
fills in (`KIND`), and what they share (how a process is launched, where installs live).

`tenancy.local.engines` lists the engines; `tenancy.local.endpoint` starts, stops and reports
any of them through this interface alone, and so do `salestalk local` and the benchmarks.
Adding an engine is one module that builds an `EngineKind`, and one line in that list.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tenancy.errors import Refused

ENGINES_DIR_ENV = "SALESTALK_ENGINES_DIR"


class EngineUnavailableError(Refused, RuntimeError):
    """An engine cannot be installed or run here; the message says what is missing and how to
    get it."""


@dataclass(frozen=True)
class Launch:
    """How to start an engine's process: its command line, folder and added environment."""

    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Leftover:
    """A process a killed engine left running, which nothing else would ever stop."""

    pid: int
    port: str  # the port its command line names
    what: str = "DynamoDB Local"

    def describe(self) -> str:
        return f"{self.what} (pid {self.pid}, port {self.port})"


def engines_dir(state_dir: Path) -> Path:
    """Where installed engines live: the state folder's `engines/`, unless SALESTALK_ENGINES_DIR
    names a folder that several projects (or a test's scratch state folders) share."""
    shared = os.environ.get(ENGINES_DIR_ENV)
    return Path(shared) if shared else state_dir / "engines"


def _answers_is_ready(url: str) -> bool:
    return True  # the endpoint answering DynamoDB (checked first) is all it takes


def _nothing_left(state_dir: Path) -> list[Leftover]:
    return []


def _no_problem() -> str | None:
    return None


@dataclass(frozen=True)
class EngineKind:
    """One engine, as `salestalk local` runs it on a loopback port."""

    name: str  # as messages say it: "MiniStack"
    version: str
    marker: bytes  # what names its process in a command line (a pid file can outlive it)
    needs: str  # what it needs installed, in a few words
    installed_dir: Callable[[Path], Path]  # its install, under `engines_dir(state_dir)`
    is_installed: Callable[[Path], bool]
    install: Callable[..., Path]  # (state_dir, log=print) -> its install; idempotent
    launch: Callable[[Path, int, Path | None, str], Launch]  # (state, port, data or None, host)
    data_dir: Callable[[Path, int], Path]  # where it keeps its data for a port, on disk
    problem: Callable[[], str | None] = _no_problem  # why it cannot run here (Java missing)
    ready: Callable[[str], bool] = _answers_is_ready  # serving every service, once answering
    leftovers: Callable[[Path], list[Leftover]] = _nothing_left  # what a killed one left
    port_problem: Callable[[int], str | None] = lambda port: None  # the next port is taken
    start_note: str = ""  # said after it starts (what it does unlike the others)
    kept_note: str = ""  # said on stop when it keeps data, if more than "kept in DIR"
