"""The embedded DynamoDB endpoint: moto's server on loopback, LocalStack's port by default.

`salestalk local start` runs it as a background process that outlives the command (its pid and
log live in the project's `.salestalk/` folder); tests and notebooks can run it in-process with
`embedded()`. Whatever already answers on the port (LocalStack, or an endpoint started by
someone else) is used as it is and never stopped by us.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

HOST = "127.0.0.1"  # loopback only: the endpoint accepts any credentials and must not be reachable
DEFAULT_PORT = 4566
STATE_DIR_NAME = ".salestalk"
START_TIMEOUT_SECONDS = 30.0


def is_loopback_host(host: str | None) -> bool:
    """True only for this machine's loopback: `localhost` (any case), any 127.0.0.0/8 address
    and ::1 (brackets allowed). The one rule for both which endpoints are local and where the
    embedded endpoint can be served. `localhost.` is not: glibc skips /etc/hosts for it and
    asks DNS, which may answer anything; neither is any other name (`localhost.evil.example`,
    `127.0.0.1.nip.io`) nor a non-canonical address (`127.1`), which only DNS could resolve."""
    name = (host or "").lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def loopback_port(url: str | None) -> int | None:
    """The port of an endpoint URL on this machine's loopback, or None if it is elsewhere:
    only there can this project serve the embedded endpoint itself (hosts named local in
    `salestalk:localHosts` or SALESTALK_LOCAL_HOSTS never count here)."""
    parts = urlsplit(url or "")
    try:
        port = parts.port
    except ValueError:  # not a port number
        return None
    return port if is_loopback_host(parts.hostname) else None


def endpoint_url(port: int = DEFAULT_PORT) -> str:
    return f"http://{HOST}:{port}"


def answers(url: str, timeout: float = 1.0) -> bool:
    """True when an HTTP server answers at `url` (any status code counts)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


class EndpointState(StrEnum):
    OURS = "running (embedded moto server)"
    FOREIGN = "answering (not started by salestalk)"
    DOWN = "not running"


@dataclass(frozen=True)
class EndpointStatus:
    state: EndpointState
    url: str
    pid: int | None = None
    log: Path | None = None

    def describe(self) -> str:
        details = f", pid {self.pid}, log {self.log}" if self.pid else ""
        return f"{self.url}: {self.state}{details}"


class EndpointError(RuntimeError):
    pass


class LocalEndpoint:
    """The background moto server of one port, tracked by a pid file."""

    def __init__(self, state_dir: Path, port: int = DEFAULT_PORT):
        self.state_dir = state_dir
        self.port = port
        self.url = endpoint_url(port)
        self.pid_file = state_dir / f"moto-{port}.pid"
        self.log_file = state_dir / f"moto-{port}.log"

    def _our_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            self.pid_file.unlink(missing_ok=True)
            return None
        except PermissionError:
            return None
        if not _is_moto_server(pid):  # the pid was reused by an unrelated process
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid

    def status(self) -> EndpointStatus:
        pid = self._our_pid()
        if not answers(self.url):
            return EndpointStatus(EndpointState.DOWN, self.url)
        if pid is not None:
            return EndpointStatus(EndpointState.OURS, self.url, pid, self.log_file)
        return EndpointStatus(EndpointState.FOREIGN, self.url)

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> tuple[bool, EndpointStatus]:
        """Start the server unless something answers already; returns (started, status)."""
        current = self.status()
        if current.state is not EndpointState.DOWN:
            return False, current
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tenancy.moto_server", "-H", HOST, "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the command that started it
            )
        self.pid_file.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + timeout
        while not answers(self.url):
            if process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise EndpointError(
                    f"moto server exited with status {process.returncode}; "
                    f"see {self.log_file}:\n{_tail(self.log_file)}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise EndpointError(f"moto server did not answer at {self.url} within {timeout}s")
            time.sleep(0.2)
        return True, self.status()

    def stop(self, timeout: float = 10.0) -> tuple[bool, EndpointStatus]:
        """Stop our server (an endpoint we did not start is left alone); (stopped, status)."""
        pid = self._our_pid()
        if pid is None:
            return False, self.status()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True, self.status()


def _is_moto_server(pid: int) -> bool:
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():
        return True  # no procfs (macOS): trust the pid file
    try:
        return b"tenancy.moto_server" in cmdline.read_bytes()
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
    return True


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def embedded(port: int = 0) -> Iterator[str]:
    """An in-process moto server for tests and notebooks; yields its URL (port 0: any free port)."""
    from moto.server import ThreadedMotoServer

    from tenancy.moto_server import apply_fixes

    apply_fixes()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    try:
        host, bound_port = server.get_host_and_port()
        yield f"http://{host}:{bound_port}"
    finally:
        server.stop()
