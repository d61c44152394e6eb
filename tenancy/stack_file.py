"""Pulumi stack files (`Pulumi.<stack>.yaml`) read and edited without the Pulumi CLI.

The CLI commands use the very file `pulumi up` uses, so a roster edited with
`salestalk roster add` is the roster Pulumi deploys. Edits go through ruamel.yaml's round-trip
mode, which keeps the file's comments, order and layout; the line endings, a UTF-8 byte order
mark and a missing final newline are kept as well, so an edit changes only the lines it edits.

Several commands edit a stack file (`roster add`, `tenant move`, `tenant drop-copy`), and
people run them at the same time, from two terminals or a script. So every edit:

- holds one lock, an exclusive `flock` on `Pulumi.<stack>.yaml.lock` beside the file (the
  stack file itself cannot be the lock: it is replaced, not rewritten), waiting at most
  LOCK_TIMEOUT_SECONDS and then naming the command that holds it;
- re-reads the file under that lock and applies its change to what the file says now, never
  to a document loaded when a long command started;
- validates the whole resulting stack settings before writing anything;
- writes a temporary file beside the stack file, syncs it and renames it over the stack file,
  so that a full disk, an I/O error or a kill at any moment leaves the old file or the new
  one, whole, never a cut one.

A stack file cannot hang or crash a command: text that is not UTF-8, YAML nested deeper than
MAX_DEPTH levels, or aliases that would expand to more than MAX_VALUES values (a "billion
laughs" file), are refused with a one-line StackFileError when the file is loaded.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import os
import re
import shlex
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import MaxDepthExceededError
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.tokens import CommentToken

from tenancy.budgets import STACK_LOCK_POLL_SECONDS as LOCK_POLL_SECONDS
from tenancy.budgets import STACK_LOCK_TIMEOUT_SECONDS as LOCK_TIMEOUT_SECONDS
from tenancy.errors import Refused
from tenancy.roster import Tenant
from tenancy.settings import NAMESPACE, TENANTS_KEY, StackSettings

PROJECT_FILE = "Pulumi.yaml"
PROJECT_NAME = "salestalk"
PROJECT_DIR_ENV = "SALESTALK_PROJECT_DIR"

# Far beyond any real stack file (1,250 tenants, an account's worth, are about 12,000 values),
# far below what would take a command more than a moment.
MAX_DEPTH = 64
MAX_VALUES = 100_000

# An edit holds the lock for well under a second; a command still waiting after this long is
# stuck behind another one that is itself stuck (or paused), and says which.

LOCK_SUFFIX = ".lock"
MAX_HOLDER_TEXT = 300  # characters of the holder's command line kept in the lock file

UTF8_BOM = "\ufeff"
CRLF = "\r\n"

TENANTS = f"{NAMESPACE}:{TENANTS_KEY}"


class StackFileError(Refused, ValueError):
    """The stack file is missing, is not a usable Pulumi stack file, or cannot be saved."""


class StackFileConflictError(StackFileError):
    """The roster entry an edit expected has been changed by another command meanwhile."""


STATE_DIR_NAME = ".salestalk"  # the project's local state: endpoints, engines, quarantine


def state_dir() -> Path:
    """The project's `.salestalk/` folder (the working directory's outside a project)."""
    try:
        return find_project_dir() / STATE_DIR_NAME
    except StackFileError:
        return Path.cwd() / STATE_DIR_NAME


def find_project_dir(start: Path | None = None) -> Path:
    """The folder holding this project's Pulumi.yaml: $SALESTALK_PROJECT_DIR, or the nearest
    folder at or above `start` (default: the current directory)."""
    if os.environ.get(PROJECT_DIR_ENV):
        candidates = [Path(os.environ[PROJECT_DIR_ENV])]
    else:
        here = (start or Path.cwd()).resolve()
        candidates = [here, *here.parents]
    for folder in candidates:
        project_file = folder / PROJECT_FILE
        if project_file.is_file() and _project_name(project_file) == PROJECT_NAME:
            return folder
    raise StackFileError(
        f"no {PROJECT_FILE} of project {PROJECT_NAME!r} found in {candidates[0]} or above; "
        f"run from the project folder or set {PROJECT_DIR_ENV}"
    )


def _project_name(project_file: Path) -> str | None:
    yaml = YAML(typ="safe")  # builds aliases as shared objects: only `name` is read
    yaml.max_depth = MAX_DEPTH
    try:
        data = yaml.load(project_file.read_text(encoding="utf-8"))
    except (OSError, ValueError, YAMLError, RecursionError):  # ValueError: not UTF-8
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments and layout survive a load/dump cycle
    yaml.max_depth = MAX_DEPTH  # the composer refuses deeper nesting before it recurses
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


# --- the file's text: what YAML does not see --------------------------------------------------


@dataclass(frozen=True)
class TextLayout:
    """How a stack file's text is laid out beyond its YAML: line endings, a byte order mark,
    a final newline. ruamel reads all of them away and writes its own, so they are noted at
    load and put back at save: an edit must not rewrite every line of a CRLF file."""

    newline: str = "\n"
    bom: bool = False
    final_newline: bool = True

    @classmethod
    def of(cls, text: str) -> TextLayout:
        """The layout of decoded file text (a mixed file keeps its first line's ending)."""
        body = text.removeprefix(UTF8_BOM)
        first_break = body.find("\n")
        return cls(
            newline=CRLF if first_break > 0 and body[first_break - 1] == "\r" else "\n",
            bom=text.startswith(UTF8_BOM),
            final_newline=not body or body.endswith("\n"),
        )

    @staticmethod
    def yaml_text(text: str) -> str:
        """The text ruamel is given: no BOM, `\\n` line breaks (ruamel keeps a CR that ends
        a comment, and would then write it as CR CR LF)."""
        return text.removeprefix(UTF8_BOM).replace(CRLF, "\n")

    def file_bytes(self, yaml_text: str) -> bytes:
        """ruamel's output (`\\n` line breaks, a final newline) laid out as the file was."""
        if not self.final_newline:
            yaml_text = yaml_text.removesuffix("\n")
        if self.newline != "\n":
            yaml_text = yaml_text.replace("\n", self.newline)
        return ((UTF8_BOM if self.bom else "") + yaml_text).encode("utf-8")


def _decode(data: bytes, name: str) -> str:
    """The file's bytes as text, or a one-line StackFileError naming the first byte that is
    not UTF-8 text (a NUL byte counts: no YAML holds one, and it marks a binary file)."""
    nul = data.find(b"\0")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.start if nul < 0 else min(nul, exc.start)
    else:
        if nul < 0:
            return text
        bad = nul
    what = "a NUL byte" if bad == nul else f"byte 0x{data[bad]:02x}"
    hint = " (UTF-16?)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
    line = data.count(b"\n", 0, bad) + 1
    raise StackFileError(
        f"{name} is not UTF-8 text{hint}: {what} at byte offset {bad} (line {line}); "
        "save it as UTF-8"
    )


def _parse(text: str, name: str) -> Any:
    try:
        document = _yaml().load(TextLayout.yaml_text(text))
    except MaxDepthExceededError as exc:
        where = f", line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
        raise StackFileError(_too_deep(name + where)) from None
    except RecursionError:
        raise StackFileError(_too_deep(name)) from None
    except YAMLError as exc:
        raise StackFileError(f"{name} is not valid YAML: {exc}") from None
    if document is None:
        document = {}
    if not isinstance(document, Mapping) or not isinstance(document.get("config", {}), Mapping):
        raise StackFileError(f"{name}: expected a mapping with a `config:` mapping")
    return document


# --- the stack file ---------------------------------------------------------------------------


@dataclass
class StackFile:
    """One stack's config file, loaded for reading and (round-trip) editing.

    `document` is the file as it was when loaded (or last saved through this object). The
    edit methods never write it back as it is: each re-reads the file under the stack file's
    lock, applies its change to what the file says now, and then refreshes `document`.
    """

    stack: str
    path: Path
    document: Any
    layout: TextLayout = field(default_factory=TextLayout)

    @classmethod
    def load(cls, stack: str, project_dir: Path | None = None) -> StackFile:
        folder = project_dir or find_project_dir()
        path = folder / f"Pulumi.{stack}.yaml"
        if not path.is_file():
            available = sorted(p.name for p in folder.glob("Pulumi.*.yaml"))
            raise StackFileError(
                f"stack {stack!r} has no file {path.name} in {folder} "
                f"(stack files there: {', '.join(available) or 'none'})"
            )
        return cls._read(stack, path)

    @classmethod
    def _read(cls, stack: str, path: Path) -> StackFile:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StackFileError(f"cannot read {path.name}: {exc.strerror or exc}") from None
        text = _decode(data, path.name)
        loaded = cls(stack, path, _parse(text, path.name), TextLayout.of(text))
        loaded.plain_config()  # refuses runaway aliases now, as a StackFileError
        return loaded

    @property
    def config(self) -> Mapping[str, Any]:
        return self.document.get("config") or {}

    def plain_config(self) -> dict[str, Any]:
        """Every config value as plain Python data (dicts, lists, str, bool, numbers)."""
        return _plain(self.config, self.path.name)

    def pulumi_config_values(self) -> dict[str, str]:
        """Config as the Pulumi CLI hands it to a program: scalars as text, objects as JSON
        (what Pulumi's mocks need to run the program with this stack's settings)."""
        values = {}
        for key, plain in self.plain_config().items():
            if isinstance(plain, bool):
                values[key] = "true" if plain else "false"
            elif isinstance(plain, dict | list):
                values[key] = json.dumps(plain)
            else:
                values[key] = str(plain)
        return values

    def namespace(self, namespace: str) -> dict[str, Any]:
        """The values of one config namespace, keys without the `namespace:` prefix."""
        prefix = f"{namespace}:"
        return {
            key.removeprefix(prefix): value
            for key, value in self.plain_config().items()
            if key.startswith(prefix)
        }

    def settings(self) -> StackSettings:
        return StackSettings.from_values(
            self.stack, self.namespace(NAMESPACE), source=self.path.name
        )

    # --- edits: locked, re-read, validated, written atomically ---------------------------------

    def add_tenant(self, tenant: Tenant) -> StackSettings:
        """Append a tenant to the roster and save, keeping comments and layout.

        The whole new stack settings are validated first, so a duplicate id or a bad entry
        leaves the file untouched.
        """

        def append(current: StackFile) -> None:
            config = current.document.setdefault("config", {})
            if config.get(TENANTS) is None:
                config[TENANTS] = []
            config[TENANTS].append(tenant.to_config())

        return self._edit(append, lambda roster: [*roster, tenant.to_config()])

    def update_tenant(
        self,
        tenant_id: str,
        changes: Mapping[str, Any],
        expect: Mapping[str, Any] | None = None,
    ) -> StackSettings:
        """Set (or, with None, remove) fields of one roster entry and save, keeping comments
        and layout. The stack's settings are validated with the change first, so a change
        that would make the roster invalid leaves the file untouched.

        `expect` makes it a compare-and-set: field values (None: absent) the entry must still
        have in the file, else StackFileConflictError and nothing changes. A tenant move
        switches the tier only if the entry still says the tenant is moving.
        """

        def text(value: Any) -> Any:  # a StrEnum (Tier.POOL) as its text: YAML has no enums
            return str(value) if isinstance(value, str) else value

        def update(current: StackFile) -> None:
            entry = current._entry(tenant_id, expect)
            for name, value in changes.items():
                if value is None:
                    entry.pop(name, None)
                else:
                    entry[name] = text(value)

        def expected(roster: list[Any]) -> list[Any]:
            return [
                {
                    **{k: v for k, v in entry.items() if changes.get(k, v) is not None},
                    **{k: text(v) for k, v in changes.items() if v is not None},
                }
                if _is_entry_of(entry, tenant_id)
                else entry
                for entry in roster
            ]

        return self._edit(update, expected)

    def remove_tenant(
        self, tenant_id: str, expect: Mapping[str, Any] | None = None
    ) -> StackSettings:
        """Remove one roster entry and save, keeping the comments around it. `expect` is a
        compare-and-set as for `update_tenant`. The last tenant cannot be removed: the
        roster's own error says a stack needs one."""

        def remove(current: StackFile) -> None:
            entry = current._entry(tenant_id, expect)
            entries = current.config[TENANTS]
            index = next(i for i, e in enumerate(entries) if e is entry)
            _keep_comments_after(entries, index)
            del entries[index]

        return self._edit(
            remove, lambda roster: [e for e in roster if not _is_entry_of(e, tenant_id)]
        )

    def _edit(
        self,
        change: Callable[[StackFile], None],
        expected: Callable[[list[Any]], list[Any]],
    ) -> StackSettings:
        """Apply `change` to the file as it is now, under the lock, and save it if the
        resulting stack settings are valid and the file, read back, holds exactly the roster
        `expected` makes of the one before (a YAML anchor or merge key `<<:` shared between
        entries could otherwise carry one tenant's change into another's, or make a key
        impossible to remove). `self.document` becomes the saved document."""
        with _locked(self.path):
            current = type(self)._read(self.stack, self.path)
            before = current._roster()
            try:
                change(current)
            except (KeyError, TypeError, AttributeError):
                raise StackFileError(_shared(current.path.name)) from None
            settings = current.settings()  # RosterError/StackConfigError: nothing written
            data = current._dump()
            text = _decode(data, current.path.name)
            reread = type(self)(self.stack, self.path, _parse(text, self.path.name))
            if reread._roster() != expected(before):
                raise StackFileError(_shared(current.path.name))
            _write_atomically(self.path, data)
        self.document, self.layout = current.document, current.layout
        return settings

    def _roster(self) -> list[Any]:
        return _plain(self.config.get(TENANTS), self.path.name) or []

    def _entry(self, tenant_id: str, expect: Mapping[str, Any] | None) -> Any:
        """The roster entry of `tenant_id` (ruamel's mapping, for editing in place), after
        checking the values `expect` names."""
        entries = self.config.get(TENANTS) or []
        entry = next(
            (e for e in entries if isinstance(e, Mapping) and e.get("tenantId") == tenant_id),
            None,
        )
        if entry is None:
            self.settings().roster.get(tenant_id)  # UnknownTenantError, naming the known ids
            raise StackFileError(f"{self.path.name}: no roster entry for tenant {tenant_id!r}")
        for name, expected in (expect or {}).items():
            found = _plain(entry.get(name), self.path.name)
            if found != expected:
                raise StackFileConflictError(
                    f"{self.path.name}: tenant {tenant_id!r} was changed by another command: "
                    f"expected {name} {_shown(expected)}, the file now says {_shown(found)}; "
                    "nothing was changed"
                )
        return entry

    def _dump(self) -> bytes:
        buffer = io.StringIO()
        _yaml().dump(self.document, buffer)
        return self.layout.file_bytes(buffer.getvalue())


def _is_entry_of(entry: Any, tenant_id: str) -> bool:
    return isinstance(entry, Mapping) and entry.get("tenantId") == tenant_id


def _shared(name: str) -> str:
    return (
        f"{name}: this edit would change more than its tenant's entry, or cannot be made, "
        "because entries share fields through a YAML anchor or merge key (`&name`, `<<: *name`):"
        " write the entries involved out in full, then run it again; nothing was changed"
    )


def _shown(value: Any) -> str:
    if value is None:
        return "(absent)"
    return repr(str(value)) if isinstance(value, str) else repr(value)


def _keep_comments_after(entries: Any, index: int) -> None:
    """Before a roster entry is removed, hand the comment lines that follow it to the entry
    before it (or to the roster itself, before its first entry).

    ruamel attaches the comment lines after an entry, up to the next entry or key, to the
    entry's last value: they describe what follows (the next tenant, the next setting), and
    would otherwise go with the removed entry. Its inline comments do go with it.
    """
    removed = entries[index]
    token = _trailing_comment(removed)
    if token is None or "\n" not in token.value:
        return
    lines = token.value.partition("\n")[2]  # what follows the entry's own (inline) comment
    if not lines:
        return
    if index > 0:
        _append_trailing_comment(entries[index - 1], lines)
    elif entries.ca.comment is None:
        entries.ca.comment = [None, [CommentToken(lines, CommentMark(0), None)]]
    else:
        # in place: the key holding the roster shares this list of comment tokens
        entries.ca.comment[1] = entries.ca.comment[1] or []
        entries.ca.comment[1].append(CommentToken(lines, CommentMark(0), None))


def _trailing_comment(entry: Any) -> CommentToken | None:
    if not isinstance(entry, Mapping) or not entry or not hasattr(entry, "ca"):
        return None
    slots = entry.ca.items.get(list(entry)[-1])
    token = slots[2] if slots and len(slots) > 2 else None
    return token if isinstance(token, CommentToken) else None


def _append_trailing_comment(entry: Any, lines: str) -> None:
    token = _trailing_comment(entry)
    if token is not None:
        token.value += lines
    elif isinstance(entry, Mapping) and entry and hasattr(entry, "ca"):
        slot = [None, None, CommentToken("\n" + lines, CommentMark(0), None), None]
        entry.ca.items[list(entry)[-1]] = slot


# --- the lock ---------------------------------------------------------------------------------


def lock_path(stack_path: Path) -> Path:
    """The lock file beside the stack file (beside the file a symlink points to, so that
    every name of one file shares one lock)."""
    real = Path(os.path.realpath(stack_path))
    return real.with_name(real.name + LOCK_SUFFIX)


@contextlib.contextmanager
def _locked(stack_path: Path) -> Iterator[None]:
    """Hold the stack file's lock: an exclusive flock on its lock file, whose text names the
    holder (pid and command line) for anyone who times out waiting. The lock file stays: a
    lock file removed while another process waits on it would let two holders in."""
    path = lock_path(stack_path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise StackFileError(
            f"cannot lock {stack_path.name}: {path}: {exc.strerror or exc}"
        ) from None
    try:
        _acquire(fd, stack_path, path)
        try:
            _write_holder(fd, f"{os.getpid()} {_command_line()}\n")
            yield
        finally:
            _write_holder(fd, "")  # before unlocking: the next holder writes its own
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, stack_path: Path, path: Path) -> None:
    """Wait for the lock, at most LOCK_TIMEOUT_SECONDS (polling: a blocking flock cannot be
    given a timeout without a signal, and a command may run outside the main thread)."""
    timeout = LOCK_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        except OSError as exc:
            raise StackFileError(
                f"cannot lock {stack_path.name}: {path}: {exc.strerror or exc}"
            ) from None
        if time.monotonic() >= deadline:
            raise StackFileError(
                f"{stack_path.name} is being edited by {_holder(fd)}: gave up after waiting "
                f"{timeout:g} s for its lock ({path}); run this command again once that one "
                "has finished"
            )
        time.sleep(LOCK_POLL_SECONDS)


def _write_holder(fd: int, text: str) -> None:
    """Best effort: a full disk must fail the save with its own message, not here."""
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        if text:
            os.pwrite(fd, text.encode("utf-8", "backslashreplace"), 0)


def _holder(fd: int) -> str:
    """`pid 1234 (salestalk tenant move ...)`, from the lock file's text."""
    with contextlib.suppress(OSError):
        text = os.pread(fd, 4 * MAX_HOLDER_TEXT, 0).decode("utf-8", "replace")
        pid, _, command = text.strip().partition(" ")
        if pid.isdigit():
            return f"pid {pid} ({_printable(command)})" if command else f"pid {pid}"
    return "another command (it has not said which yet)"


def _command_line() -> str:
    argv = sys.argv or ["python"]
    return _printable(shlex.join([Path(argv[0]).name, *argv[1:]]))


def _printable(text: str) -> str:
    """One printable line, however the command line was written (a name with a newline)."""
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return shown if len(shown) <= MAX_HOLDER_TEXT else shown[: MAX_HOLDER_TEXT - 3] + "..."


# --- the atomic write -------------------------------------------------------------------------


def _write_atomically(stack_path: Path, data: bytes) -> None:
    """Replace the stack file (the file a symlink points to, not the link) by `data`, whole
    or not at all: a failure is one line, and the file is then as it was."""
    target = Path(os.path.realpath(stack_path))
    try:
        _remove_leftovers(target)
        _replace(target, data)
    except OSError as exc:
        reason = exc.strerror or os.strerror(exc.errno or errno.EIO)
        raise StackFileError(
            f"could not save {stack_path.name}: {reason}; the file is unchanged"
        ) from None
    _sync_folder(target.parent)


def _replace(target: Path, data: bytes) -> None:
    """Write a temporary file in the same folder (a rename is atomic only within one file
    system), sync it, give it the original's owner and mode, and rename it over the target.
    On any failure, a signal's KeyboardInterrupt included, the temporary file is removed."""
    original = os.stat(target)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=_temp_prefix(target))
    try:
        with os.fdopen(fd, "wb") as out:
            with contextlib.suppress(OSError):  # another owner's file, saved by root
                os.fchown(out.fileno(), original.st_uid, original.st_gid)
            os.fchmod(out.fileno(), stat.S_IMODE(original.st_mode))
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _temp_prefix(target: Path) -> str:
    return f".{target.name}."


def _remove_leftovers(target: Path) -> None:
    """Remove the temporary files of saves that were killed (SIGKILL leaves no chance to
    clean up). Only called under the lock, so no other save is writing one now; only names
    `tempfile.mkstemp` makes with this prefix are touched."""
    pattern = re.compile(re.escape(_temp_prefix(target)) + r"[a-z0-9_]{8}")
    for path in target.parent.iterdir():
        if pattern.fullmatch(path.name) and path.is_file() and not path.is_symlink():
            with contextlib.suppress(OSError):
                path.unlink()


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable. Best effort: the file is already replaced, and some
    file systems cannot sync a folder."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- plain values -----------------------------------------------------------------------------


def _too_deep(where: str) -> str:
    return f"{where}: values nest deeper than {MAX_DEPTH} levels; a stack file needs a handful"


def _plain(value: Any, source: str) -> Any:
    """ruamel's commented containers as plain dicts/lists/scalars, without recursion.

    An alias is a reference to its anchor's value, so a small file can stand for an enormous
    one (nine levels of nine aliases are 387 million values): the conversion counts what it
    produces and stops at MAX_VALUES, and at MAX_DEPTH (a recursive alias is infinitely deep).
    """
    root: list[Any] = [None]
    pending: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 1)]  # value, into, at, depth
    produced = 1
    while pending:
        item, into, at, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise StackFileError(_too_deep(source))
        if isinstance(item, Mapping):
            children = [(str(key), child) for key, child in item.items()]
            into[at] = dict.fromkeys(key for key, _ in children)
        elif isinstance(item, list):
            children = list(enumerate(item))
            into[at] = [None] * len(children)
        else:
            into[at] = _scalar(item)
            continue
        produced += len(children)
        if produced > MAX_VALUES:
            raise StackFileError(
                f"{source}: its YAML aliases expand to more than {MAX_VALUES:,} values "
                "(aliases of aliases?); a stack file has far fewer"
            )
        # Reversed, so that children are converted in document order (a repeated key: last wins).
        pending.extend((child, into[at], key, depth + 1) for key, child in reversed(children))
    return root[0]


def _scalar(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    return str(value)
