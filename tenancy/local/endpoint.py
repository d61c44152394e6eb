"""Local DynamoDB endpoints on loopback: MiniStack (the default), Amazon's DynamoDB Local or
LocalStack, on LocalStack's port by default.

`salestalk local start` runs one as a background process that outlives the command (its pid
and log live in the project's `.salestalk/` folder); the test suite runs the default engine as
a child of its own process with `embedded()`. Whatever already answers on the port
(LocalStack, or an endpoint started by someone else) is used as it is and never stopped by us.
Everything engine-specific comes from the engine's `EngineKind` (`tenancy.local.engines`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from tenancy.budgets import (
    ENGINE_REAP_SECONDS,
    ENGINE_START_TIMEOUT_SECONDS,
    ENGINE_STOP_TIMEOUT_SECONDS,
)
from tenancy.endpoint_probe import Answer, Probe, answers, probe
from tenancy.errors import Refused
from tenancy.local.engine_kind import EngineKind, EngineUnavailableError, Launch
from tenancy.local.engines import DEFAULT_ENGINE, KINDS, Engine, kind
from tenancy.local.port_holder import port_holder

HOST = "127.0.0.1"  # loopback only: the endpoint accepts any credentials and must not be reachable
DEFAULT_PORT = 4566


def endpoint_url(port: int = DEFAULT_PORT) -> str:
    return f"http://{HOST}:{port}"


ANOTHER_PORT = (
    f"pick a free one with `salestalk local start --port N`, and point the other commands "
    f"at it with AWS_ENDPOINT_URL_DYNAMODB=http://{HOST}:N"
)


def held_by(port: int, found: Probe) -> str:
    """One line on what holds a port that DynamoDB does not answer on."""
    holder = port_holder(port)
    who = holder.describe() if holder else "another program"
    if found.answer is Answer.SILENT:
        return f"port {port} is held by {who}, which does not answer HTTP"
    return f"port {port} is held by {who}, an HTTP server that is not DynamoDB ({found.detail})"


class EndpointState(StrEnum):
    OURS = "running"
    FOREIGN = "answering (not started by salestalk)"
    HELD = "held by a program that is not DynamoDB"
    DOWN = "not running"


@dataclass(frozen=True)
class EndpointStatus:
    state: EndpointState
    url: str
    pid: int | None = None
    log: Path | None = None
    engine: Engine | None = None
    data_dir: Path | None = None  # where the engine keeps its data; None: in memory
    holder: str = ""  # what holds the port, when it is not DynamoDB

    def describe(self) -> str:
        if self.state is EndpointState.HELD:
            return f"{self.url}: {self.holder}"
        what = str(self.state)
        if self.engine is not None:
            what += f" ({KINDS[self.engine].name})"
        details = f", pid {self.pid}, log {self.log}" if self.pid else ""
        if self.state is EndpointState.OURS:
            kept = f"data kept in {self.data_dir}" if self.data_dir else "data in memory only"
            details += f"; {kept}"
        return f"{self.url}: {what}{details}"


class EndpointError(Refused, RuntimeError):
    pass


class LocalEndpoint:
    """The background engine of one port, tracked by a pid file naming the engine.

    Each engine keeps its data on disk under `.salestalk/` (or in memory with
    `in_memory=True`, as the test suite runs it), so it survives a stop and start.
    """

    def __init__(
        self,
        state_dir: Path,
        port: int = DEFAULT_PORT,
        engine: Engine = DEFAULT_ENGINE,
        *,
        in_memory: bool = False,
    ):
        self.state_dir = state_dir
        self.port = port
        self.engine = Engine(engine)
        self.in_memory = in_memory
        self.url = endpoint_url(port)
        self.pid_file = state_dir / f"endpoint-{port}.pid"
        self.log_file = state_dir / f"{self.engine}-{port}.log"
        self.ended_leftovers: list[str] = []  # processes a killed engine left, ended by us

    @property
    def data_dir(self) -> Path | None:
        return None if self.in_memory else self.kind.data_dir(self.state_dir, self.port)

    @property
    def kind(self) -> EngineKind:
        return kind(self.engine)

    def _running(self) -> tuple[int, Engine, Path | None] | None:
        """Our process on this port (pid, engine, data folder), if it is still alive."""
        try:
            fields = self.pid_file.read_text().split(maxsplit=2)
        except OSError:
            return None
        try:
            pid_text, engine_text, *data = fields
            pid, engine = int(pid_text), Engine(engine_text)
        except ValueError:  # not ours, or from an older release: nothing we can stop
            self.pid_file.unlink(missing_ok=True)
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            self.pid_file.unlink(missing_ok=True)
            return None
        except PermissionError:
            return None
        if not _runs(pid, KINDS[engine].marker):  # the pid was reused by another process
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid, engine, (Path(data[0].strip()) if data and data[0].strip() else None)

    def status(self) -> EndpointStatus:
        running = self._running()
        found = probe(self.url)
        if found.answer is Answer.NOTHING:
            return EndpointStatus(EndpointState.DOWN, self.url)
        if not found.serves_dynamodb:
            return EndpointStatus(EndpointState.HELD, self.url, holder=held_by(self.port, found))
        if running is not None:
            pid, engine, data_dir = running
            log = self.state_dir / f"{engine}-{self.port}.log"
            return EndpointStatus(EndpointState.OURS, self.url, pid, log, engine, data_dir)
        return EndpointStatus(EndpointState.FOREIGN, self.url)

    def _launch(self) -> Launch:
        self._end_leftovers()
        try:
            return self.kind.launch(self.state_dir, self.port, self.data_dir, HOST)
        except EngineUnavailableError as exc:
            raise EndpointError(str(exc)) from None

    def _ready(self) -> bool:
        # Answering DynamoDB may come before the engine's other services are (LocalStack).
        return answers(self.url) and self.kind.ready(self.url)

    def _end_leftovers(self) -> list[str]:
        """End what killed engines of ours left running (a LocalStack's DynamoDB Local); what
        was ended.

        It would hold the port the next LocalStack's DynamoDB Local wants, and that
        LocalStack would report DynamoDB running while talking to the leftover."""
        ended = []
        for leftover in (left for k in KINDS.values() for left in k.leftovers(self.state_dir)):
            _terminate(leftover.pid, timeout=5.0)  # its data (if on disk) is closed cleanly
            ended.append(leftover.describe())
        self.ended_leftovers += ended
        return ended

    def start(self, timeout: float = ENGINE_START_TIMEOUT_SECONDS) -> tuple[bool, EndpointStatus]:
        """Start the engine unless something answers already; returns (started, status)."""
        current = self.status()
        if current.state is EndpointState.HELD:
            raise EndpointError(f"{current.holder}: {ANOTHER_PORT}")
        if current.state is not EndpointState.DOWN:
            return False, current
        process = self._spawn(detached=True)  # survives the command that started it
        data = str(self.data_dir.resolve()) if self.data_dir else ""
        self.pid_file.write_text(f"{process.pid} {self.engine} {data}\n")
        try:
            self._wait_ready(process, timeout)
        except EndpointError:
            if process.poll() is None:
                self.stop()
            self.pid_file.unlink(missing_ok=True)
            raise
        return True, self.status()

    def _spawn(self, *, detached: bool) -> subprocess.Popen:
        how = self._launch()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("wb") as log:  # this run's log only: a failure shows its own
            return subprocess.Popen(
                how.argv,
                cwd=how.cwd,
                env={**os.environ, **how.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=detached,
            )

    def _wait_ready(self, process: subprocess.Popen, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._ready():
            if process.poll() is not None:
                raise EndpointError(
                    f"{self.kind.name} exited with status {process.returncode}; "
                    f"see {self.log_file}:\n{_tail(self.log_file)}"
                )
            if time.monotonic() > deadline:
                raise EndpointError(
                    f"{self.kind.name} did not answer at {self.url} within {timeout}s"
                )
            time.sleep(0.1)

    def stop(self, timeout: float = ENGINE_STOP_TIMEOUT_SECONDS) -> tuple[bool, EndpointStatus]:
        """Stop our engine (an endpoint we did not start is left alone); (stopped, status):
        the status from before the stop, which says where its data was."""
        before = self.status()
        running = self._running()
        if running is None:
            self._end_leftovers()
            return False, before
        pid = running[0]
        _terminate(pid, timeout)  # LocalStack stops its DynamoDB Local on SIGTERM
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)  # whatever is left of its process group
        self.pid_file.unlink(missing_ok=True)
        self._end_leftovers()
        return True, before


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `timeout` seconds; either way it is
    gone (and, if it is our child, reaped) when this returns, so that nothing of it is left
    behind, not even a zombie, for the next start to mistake for a running engine."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _reap(pid, ENGINE_REAP_SECONDS)


def _reap(pid: int, timeout: float) -> None:
    """Wait until our child is collected. A process whose main thread has ended shows as a
    zombie while its other threads still finish (a state file being written): it cannot be
    reaped yet, so `_alive` calls it ended; this waits for the kernel to let it go. A process
    that is not our child is left to its parent."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return  # collected, or not ours
        if finished == pid or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def _runs(pid: int, marker: bytes) -> bool:
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():
        return True  # no procfs (macOS): trust the pid file
    try:
        return marker in cmdline.read_bytes()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass  # not our child (started by an earlier command): fall back to a signal probe
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Ended but not reaped: an orphan whose new parent (a container's first process, say)
    never collects it. It holds no port and no file any more."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def embedded(state_dir: Path, engine: Engine = DEFAULT_ENGINE) -> Iterator[str]:
    """The engine in memory on a free loopback port as a child of this process (the test
    suite's endpoint), not detached: a Ctrl-C at the terminal ends it too. Yields its URL."""
    endpoint = LocalEndpoint(state_dir, port=free_port(), engine=engine, in_memory=True)
    process = endpoint._spawn(detached=False)
    try:
        endpoint._wait_ready(process, ENGINE_START_TIMEOUT_SECONDS)
        yield endpoint.url
    finally:
        process.terminate()
        try:
            process.wait(timeout=ENGINE_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port(host: str = HOST) -> int:
    """A port the kernel just handed out and released: free now, though another process
    could take it before it is bound (the tests that need certainty hold a socket)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
