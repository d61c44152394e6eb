"""LocalStack's open-source runtime: the stack users run `pulumi up` against, run by the project.

LocalStack serves DynamoDB (through Amazon's DynamoDB Local, as its child process), IAM, STS and
KMS on one port: the services the Pulumi program declares. Its last open-source release
(`localstack-core` 2026.3.0) needs Python 3.13 and, left alone, downloads Java, DynamoDB Local
and a loader agent at run time. So the project installs the runtime into its own virtual
environment under `.salestalk/engines/` from a full pinned requirements file (newer releases of
a few of its dependencies break it), and places what it would download where it looks: the
machine's Java 17 as its Java, the DynamoDB Local the project already installs, and a no-op
agent jar. Nothing is fetched when it starts; it runs in host mode (no Docker) on loopback.

A LocalStack killed with SIGKILL leaves its DynamoDB Local running, and the next LocalStack on
the same port would report DynamoDB as running while talking to that leftover: `leftovers()`
finds such processes by the install path in their command line so that `local start` and
`local stop` can end them.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import struct
import subprocess
import urllib.request
import zipfile
from pathlib import Path

from tenancy.local import dynamodb_local, isolated_env
from tenancy.local.engine_kind import (
    EngineKind,
    EngineUnavailableError,
    Launch,
    Leftover,
    engines_dir,
)
from tenancy.local.port_holder import port_holder

RUNTIME_VERSION = "2026.3.0"  # localstack-core's last release; it asks for no auth token
REQUIREMENTS = Path(__file__).with_name("localstack-requirements.txt")  # pip freeze of a good set
PYTHON_ENV = "SALESTALK_LOCALSTACK_PYTHON"  # a Python 3.13 to build its environment with
SERVICES = ("dynamodb", "iam", "sts", "kms")
HEAP_ENV = dynamodb_local.HEAP_ENV  # the same knob as for DynamoDB Local run directly
# LocalStack looks for DynamoDB Local version "2" and Java "21"; DynamoDB Local 3.3.0 runs on 17.
DDB_PACKAGE_DIR = Path("dynamodb-local") / "2"
JAVA_PACKAGE_DIR = Path("java") / "21"
AGENT_JAR = "ddb-local-loader-0.1.jar"
AGENT_CLASS = "SalesTalkNoopAgent"
MARKER = b"localstack.runtime.main"  # what names the runtime in its command line


def installed_dir(state_dir: Path) -> Path:
    return engines_dir(state_dir) / f"localstack-{RUNTIME_VERSION}"


def _python(state_dir: Path) -> Path:
    return isolated_env.python_of(installed_dir(state_dir))


def _lib(state_dir: Path) -> Path:
    """Where the runtime finds its packages (`var/lib/localstack/lib` under its root)."""
    return installed_dir(state_dir) / "lib"


def is_installed(state_dir: Path) -> bool:
    lib = _lib(state_dir)
    return (
        isolated_env.is_installed(installed_dir(state_dir))
        and (lib / DDB_PACKAGE_DIR / dynamodb_local.JAR).exists()
        and (lib / JAVA_PACKAGE_DIR / "bin" / "java").exists()
    )


def find_python() -> Path | None:
    """A Python 3.13: the one named by the environment, `python3.13`, or pyenv's.

    The runtime does not import on 3.11 or 3.12 (it uses 3.13's syntax and library)."""
    candidates = [os.environ.get(PYTHON_ENV), shutil.which("python3.13")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        versions = Path(root.stdout.strip()) / "versions"
        if root.returncode == 0 and versions.is_dir():
            candidates += [str(p / "bin" / "python3.13") for p in sorted(versions.glob("3.13*"))]
    for candidate in candidates:
        if candidate and _is_313(candidate):
            return Path(candidate)
    return None


def _is_313(python: str) -> bool:
    try:
        shown = subprocess.run(
            [python, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return shown.stdout.strip() == "True"  # pyenv's shim exits 127 when 3.13 is not selected


def java_home() -> Path | None:
    java = shutil.which("java")
    return Path(os.path.realpath(java)).parent.parent if java else None


def install(state_dir: Path, log=print) -> Path:
    """Install the pinned runtime and place its packages (idempotent; all or nothing)."""
    target = installed_dir(state_dir)
    if is_installed(state_dir):
        return target
    problem = dynamodb_local.java_problem()
    if problem:
        raise EngineUnavailableError(problem.replace("DynamoDB Local", "LocalStack's DynamoDB"))
    python = find_python()
    if python is None:
        raise EngineUnavailableError(
            f"LocalStack's runtime {RUNTIME_VERSION} needs Python 3.13 (it does not import on "
            f"3.11 or 3.12): install it (pyenv install 3.13) or set {PYTHON_ENV} to one"
        )
    engine = dynamodb_local.install(state_dir)  # LocalStack runs this very DynamoDB Local
    with isolated_env.install_lock(target):
        if is_installed(state_dir):  # another command installed it while this one waited
            return target
        log(f"installing LocalStack {RUNTIME_VERSION} with {python} (about 500 MB, a minute)")
        isolated_env.install_env(target, python, REQUIREMENTS, "LocalStack")
        _place_packages(_lib(state_dir), engine)
        isolated_env.mark_installed(target, RUNTIME_VERSION)
    return target


def _place_packages(lib: Path, engine: Path) -> None:
    """What LocalStack would download, placed where it looks: Java, DynamoDB Local, the agent."""
    home = java_home()
    if home is None:  # java_problem() said there is one
        raise EngineUnavailableError("`java` is not on PATH")
    (lib / JAVA_PACKAGE_DIR).parent.mkdir(parents=True)
    (lib / JAVA_PACKAGE_DIR).symlink_to(home, target_is_directory=True)
    ddb = lib / DDB_PACKAGE_DIR
    ddb.mkdir(parents=True)
    for name in (dynamodb_local.JAR, "DynamoDBLocal_lib"):
        (ddb / name).symlink_to((engine / name).resolve())
    (ddb / AGENT_JAR).write_bytes(noop_agent_jar())


def noop_agent_jar() -> bytes:
    """A Java agent that does nothing, in place of the loader LocalStack always passes with
    `-javaagent` (its real one is downloaded, and patches DynamoDB Local 2.x for over 20
    indexes, which the platform never declares). Written here, not compiled: a JRE suffices."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as jar:
        jar.writestr(
            "META-INF/MANIFEST.MF",
            f"Manifest-Version: 1.0\r\nPremain-Class: {AGENT_CLASS}\r\n\r\n",
        )
        jar.writestr(f"{AGENT_CLASS}.class", _noop_agent_class())
    return buffer.getvalue()


def _noop_agent_class() -> bytes:
    """The class file of `public class X { public static void premain(String, Instrumentation)
    {} }` (class version 52, Java 8: straight-line code needs no stack map)."""

    def utf8(text: str) -> bytes:
        data = text.encode()
        return b"\x01" + struct.pack(">H", len(data)) + data

    constants = [
        utf8(AGENT_CLASS),  # 1
        b"\x07" + struct.pack(">H", 1),  # 2: this class
        utf8("java/lang/Object"),  # 3
        b"\x07" + struct.pack(">H", 3),  # 4: its superclass
        utf8("premain"),  # 5
        utf8("(Ljava/lang/String;Ljava/lang/instrument/Instrumentation;)V"),  # 6
        utf8("Code"),  # 7
    ]
    code = struct.pack(">HHI", 0, 2, 1) + b"\xb1" + struct.pack(">HH", 0, 0)  # return
    method = struct.pack(">HHHH", 0x0009, 5, 6, 1) + struct.pack(">HI", 7, len(code)) + code
    return (
        struct.pack(">IHHH", 0xCAFEBABE, 0, 52, len(constants) + 1)
        + b"".join(constants)
        + struct.pack(">HHHHHH", 0x0021, 2, 4, 0, 0, 1)
        + method
        + struct.pack(">H", 0)
    )


def root(state_dir: Path, port: int) -> Path:
    """The runtime's file-system root for one port (its state, logs and temporary files)."""
    return state_dir / "localstack" / str(port)


def data_dir(state_dir: Path, port: int) -> Path:
    """Where LocalStack's own persistence keeps its state (`PERSISTENCE=1`) in host mode."""
    return root(state_dir, port) / "var" / "lib" / "localstack" / "state"


def dynamodb_port(port: int) -> int:
    """The port of its DynamoDB Local: the next one, so that a leftover is found where it was."""
    return port + 1


def port_problem(port: int) -> str | None:
    """Why LocalStack's DynamoDB Local could not listen on its port (it binds every interface)."""
    wanted = dynamodb_port(port)
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a server binds it
        try:
            probe.bind(("", wanted))
        except OSError:
            holder = port_holder(wanted)
            who = holder.describe() if holder else "another program"
            return (
                f"port {wanted}, which LocalStack on port {port} gives its DynamoDB Local, is "
                f"held by {who}: stop it, or start LocalStack on another port (--port N)"
            )
    return None


def launch(state_dir: Path, port: int, data: Path | None, host: str) -> Launch:
    """How to start LocalStack on `host:port`, with its DynamoDB Local on `port + 1`.

    With `data` (which must be `data_dir(state_dir, port)`: host mode puts its state under
    its root), LocalStack's own persistence keeps it across a stop and start (`PERSISTENCE=1`);
    without, everything is in memory."""
    if not is_installed(state_dir):
        raise EngineUnavailableError(
            f"LocalStack is not installed: run `salestalk local install --engine localstack` "
            f"(it installs localstack-core {RUNTIME_VERSION} under {installed_dir(state_dir)})"
        )
    problem = dynamodb_local.java_problem() or port_problem(port)
    if problem:
        raise EngineUnavailableError(problem)
    folder = root(state_dir, port)
    lib = folder / "var" / "lib" / "localstack" / "lib"
    lib.parent.mkdir(parents=True, exist_ok=True)
    if not lib.is_symlink():
        shutil.rmtree(lib, ignore_errors=True)
        lib.symlink_to(_lib(state_dir).resolve(), target_is_directory=True)
    env = {
        "OVERRIDE_IN_DOCKER": "0",  # host mode even inside a container
        "FILESYSTEM_ROOT": str(folder.resolve()),
        "GATEWAY_LISTEN": f"{host}:{port}",  # loopback only, which only hypercorn honours:
        "GATEWAY_SERVER": "hypercorn",  # the default (twisted) listens on every IPv4 interface
        "LOCALSTACK_HOST": f"localhost:{port}",
        "SERVICES": ",".join(SERVICES),
        "EAGER_SERVICE_LOADING": "1",  # every service ready before the port is said to be
        "DYNAMODB_LOCAL_PORT": str(dynamodb_port(port)),
        "DYNAMODB_SHARE_DB": "1",  # one database whatever the credentials, as we run it directly
        "DYNAMODB_HEAP_SIZE": os.environ.get(HEAP_ENV) or dynamodb_local.DEFAULT_HEAP,
        "DISABLE_EVENTS": "1",  # no analytics calls home
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DNS_ADDRESS": "0",  # no DNS server
        "PERSISTENCE": "1" if data else "0",
        "DYNAMODB_IN_MEMORY": "0" if data else "1",
    }
    return Launch(
        argv=[str(_python(state_dir)), "-m", "localstack.runtime.main"],
        cwd=folder,
        env=env,
    )


def ready(url: str) -> bool:
    """True when every service the platform uses is ready (the gateway answers sooner)."""
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=1.0) as answer:
            services = json.load(answer).get("services", {})
    except (OSError, ValueError):
        return False
    return all(services.get(name) in ("running", "available") for name in SERVICES) and (
        services.get("dynamodb") == "running"
    )


def leftovers(state_dir: Path) -> list[Leftover]:
    """DynamoDB Local processes of our LocalStack whose LocalStack is gone (killed with
    SIGKILL, say): nothing else would ever stop them. With a shared SALESTALK_ENGINES_DIR, those
    of every project sharing it."""
    marker = str(installed_dir(state_dir).resolve()).encode()
    roots = str((state_dir / "localstack").resolve()).encode()
    found = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if not any(dynamodb_local.JAR.encode() in arg for arg in argv):
            continue
        if not any(marker in arg or roots in arg for arg in argv):
            continue
        if _is_runtime(parent):
            continue
        port = argv[argv.index(b"-port") + 1].decode() if b"-port" in argv else "?"
        found.append(Leftover(int(entry.name), port, "LocalStack's DynamoDB Local"))
    return found


def _is_runtime(pid: int) -> bool:
    try:
        return MARKER in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


KIND = EngineKind(
    name="LocalStack",
    version=RUNTIME_VERSION,
    marker=MARKER,
    needs="pip into a Python 3.13 environment, DynamoDB Local and Java 17",
    installed_dir=installed_dir,
    is_installed=is_installed,
    install=install,
    launch=launch,
    data_dir=data_dir,
    problem=dynamodb_local.java_problem,
    ready=ready,
    leftovers=leftovers,
    port_problem=port_problem,
    start_note="serves DynamoDB, IAM, STS and KMS; its DynamoDB Local listens on the next port "
    "on every interface (it has no loopback-only option)",
    kept_note="its DynamoDB tables and items are kept in {data_dir}; its IAM roles and the "
    "tables' tags, backup and encryption settings are not (LocalStack's open-source runtime "
    "keeps only its DynamoDB Local's files): after the next start, `salestalk provision` puts "
    "them back",
)
