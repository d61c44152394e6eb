"""Stack-file edits under attack: concurrent commands, stale documents, a full disk, kill -9,
a held lock, and files laid out or encoded in ways ruamel alone would not keep.

The commands run as real processes (`salestalk` beside this interpreter, the venv's), against
a scratch copy of the project (`project_copy`), because what is tested is what happens
between processes: locks, renames, kills.
"""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tenancy import stack_file as stack_file_module
from tenancy.roster import RosterError, Tenant, Tier, UnknownTenantError
from tenancy.stack_file import StackFile, StackFileError
from tests.support.stacks import THIRD_TENANT

SALESTALK = str(Path(sys.executable).parent / "salestalk")
STACK = "Pulumi.local.yaml"
ACME, TECHSTART = "acme-corp-001", "techstart-inc-002"


def cli_env(project: Path) -> dict[str, str]:
    return {**os.environ, "SALESTALK_PROJECT_DIR": str(project)}


def add_argv(tenant_id: str, plan: str = "standard") -> list[str]:
    return [
        "roster", "add",
        "--tenant-id", tenant_id,
        "--name", f"Tenant {tenant_id}",
        "--industry", "Software",
        "--region", "Europe",
        "--plan", plan,
        "--owner-email", f"owner@{tenant_id}.example",
    ]  # fmt: skip


def tenant(tenant_id: str, **fields: str) -> Tenant:
    return Tenant.model_validate({**THIRD_TENANT, "tenantId": tenant_id, **fields})


def leftovers(folder: Path) -> list[str]:
    """Temporary files of saves (`.Pulumi.local.yaml.XXXXXXXX`)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{STACK}."))


def roster_ids(project: Path) -> list[str]:
    return StackFile.load("local", project).settings().roster.ids


def run_python(code: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, **kwargs
    )


# --- concurrent commands ----------------------------------------------------------------------

CONCURRENT_ADDS = 8


@pytest.mark.slow
def test_concurrent_roster_adds_all_survive(project_copy):
    """Before the lock, six concurrent adds kept 1 to 5 entries (and one read a half-written
    file). The processes start together: each waits for one line on stdin before exec."""
    new_ids = [f"concurrent-{n:03d}" for n in range(CONCURRENT_ADDS)]
    processes = [
        subprocess.Popen(
            ["sh", "-c", 'read go && exec "$@"', "sh", SALESTALK, *add_argv(new_id)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(project_copy),
        )
        for new_id in new_ids
    ]
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    outcomes = [(process.communicate(timeout=120), process.returncode) for process in processes]

    for (out, err), status in outcomes:
        assert status == 0, err
        assert "added tenant" in out and err == ""
    assert sorted(roster_ids(project_copy)) == sorted([ACME, TECHSTART, *new_ids])
    assert leftovers(project_copy) == []


def test_an_edit_made_meanwhile_survives_a_stack_file_loaded_earlier(project_copy):
    """A long command (a tenant move) loads the file at its start and saves at its end: the
    `roster add` made in between must survive that save."""
    held = StackFile.load("local")
    done = subprocess.run(
        [SALESTALK, *add_argv("meanwhile-004")],
        capture_output=True,
        text=True,
        env=cli_env(project_copy),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr

    settings = held.update_tenant(ACME, {"moveTo": "pool"})
    assert settings.roster.ids == [ACME, TECHSTART, "meanwhile-004"]
    assert roster_ids(project_copy) == [ACME, TECHSTART, "meanwhile-004"]
    assert StackFile.load("local").settings().roster.get(ACME).move_to == "pool"
    assert held.settings().roster.ids == settings.roster.ids  # the object sees what it saved

    older = StackFile.load("local")
    StackFile.load("local").add_tenant(tenant("first-005"))
    older.add_tenant(tenant("second-006"))
    assert roster_ids(project_copy)[-2:] == ["first-005", "second-006"]


# --- a full disk, a kill ----------------------------------------------------------------------

# Runs a command with a file size limit (RLIMIT_FSIZE) and SIGXFSZ ignored: a write past the
# limit fails with EFBIG, as one fails with ENOSPC on a full disk, in any file system.
LIMITED = textwrap.dedent(
    """
    import os, resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), hard))
    os.execv(sys.argv[2], sys.argv[2:])
    """
)


def test_a_full_disk_leaves_the_file_as_it_was(project_copy):
    """Before, `roster add` on a full disk left the file cut mid-entry, and a traceback."""
    path = project_copy / STACK
    before = path.read_bytes()
    done = run_python(
        LIMITED, str(len(before) + 16), SALESTALK, *add_argv("full-disk-007"),
        env=cli_env(project_copy),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"salestalk: error: could not save {STACK}: File too large; the file is unchanged\n"
    )
    assert path.read_bytes() == before
    assert leftovers(project_copy) == []


# Saves a large roster over and over, toggling one field between two values, so that every
# complete file is one of two known byte strings. Before each step of a save that touches the
# file system (opening the stack file or a temporary file for writing, a rename) it writes one
# byte to stdout, so the test can aim its kills at the saves rather than at the YAML work
# around them, where a kill proves nothing.
SAVER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from tenancy.stack_file import StackFile

    folder, tenant_id, *values = sys.argv[1:]
    name = "Pulumi.local.yaml"

    def announce(event, args):
        if event == "os.rename" or (event == "open" and isinstance(args[2], int)
                                    and args[2] & (os.O_WRONLY | os.O_RDWR)):
            path = args[0]
            if isinstance(path, (str, Path)) and os.path.basename(path).lstrip(".").startswith(
                name
            ) and not str(path).endswith(".lock"):
                os.write(1, b"s")

    stack_file = StackFile.load("local", Path(folder))
    sys.addaudithook(announce)
    n = 0
    while True:
        n += 1
        stack_file.update_tenant(tenant_id, {"industry": values[n % 2]})
    """
)
KILLS = 20
KILL_DELAYS = (0, 0, 0, 0.0002, 0.001, 0.005, 0.05)  # seconds after a step begins
LARGE_ROSTER = 100


def large_roster_text(count: int) -> str:
    entries = "".join(
        f"    - tenantId: bulk-{n:05d}\n"
        f"      name: Bulk tenant {n}\n"
        "      industry: Software\n"
        "      region: Europe\n"
        "      plan: trial\n"
        f"      ownerEmail: owner-{n}@bulk.example\n"
        for n in range(count)
    )
    return f"# a large roster\nconfig:\n  aws:region: us-east-1\n  salestalk:tenants:\n{entries}"


def wait_for_markers(process: subprocess.Popen, count: int) -> None:
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while count > 0:
            assert selector.select(timeout=120), "the saver stopped announcing saves"
            got = os.read(process.stdout.fileno(), count)
            assert got, process.stderr.read().decode()
            count -= len(got)


@pytest.mark.slow
def test_a_save_killed_at_any_moment_leaves_the_old_or_the_new_file(project_copy):
    """SIGKILL lands in the middle of saves: before, a kill between truncate and write left
    the file empty or cut. Now every kill leaves one of the two complete files."""
    path = project_copy / STACK
    path.write_text(large_roster_text(LARGE_ROSTER))
    first, values = "bulk-00000", ("Industry A", "Industry B")
    StackFile.load("local").update_tenant(first, {"industry": values[1]})
    version_b = path.read_bytes()
    StackFile.load("local").update_tenant(first, {"industry": values[0]})
    version_a = path.read_bytes()
    seed = random.randrange(2**32)
    chance = random.Random(seed)

    for kill in range(KILLS):
        saver = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(project_copy), first, *values],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            # the n-th step of a save (the temporary file's write and sync, or the rename),
            # then at once or a little later (a write, an fsync, the next save's YAML work)
            wait_for_markers(saver, chance.randint(1, 4))
            time.sleep(chance.choice(KILL_DELAYS))
            saver.send_signal(signal.SIGKILL)
            saver.wait(timeout=60)
        finally:
            saver.kill()
            saver.stdout.close()
            saver.stderr.close()
        now = path.read_bytes()
        assert now in (version_a, version_b), (
            f"kill {kill} (seed {seed}): {len(now)} bytes, neither version"
        )
        assert len(leftovers(project_copy)) <= 1  # each save removes the last one's
    assert len(roster_ids(project_copy)) == LARGE_ROSTER

    StackFile.load("local").update_tenant(first, {"industry": "After the kills"})
    assert leftovers(project_copy) == []  # a later save removes what killed saves left


# --- the lock ---------------------------------------------------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tenancy.stack_file import _locked

    with _locked(Path(sys.argv[1])):
        print("locked", flush=True)
        sys.stdin.read()
    """
)


def test_a_command_waiting_too_long_for_the_lock_names_the_holder(
    project_copy, tmp_path, monkeypatch
):
    path = project_copy / STACK
    before = path.read_bytes()
    script = tmp_path / "hold_lock.py"
    script.write_text(HOLDER)
    holder = subprocess.Popen(
        [sys.executable, str(script), str(path), "--for", "the test"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        monkeypatch.setattr(stack_file_module, "LOCK_TIMEOUT_SECONDS", 0.2)
        with pytest.raises(StackFileError) as waited:
            StackFile.load("local").add_tenant(tenant("waiting-008"))
    finally:
        holder.communicate(input="", timeout=60)

    message = str(waited.value)
    assert "\n" not in message
    assert message.startswith(f"{STACK} is being edited by pid {holder.pid} ")
    assert f"(hold_lock.py {path} --for 'the test')" in message
    assert f"waiting 0.2 s for its lock ({stack_file_module.lock_path(path)})" in message
    assert stack_file_module.lock_path(path).name == f"{STACK}.lock"
    assert path.read_bytes() == before
    assert StackFile.load("local").add_tenant(tenant("waiting-008")).roster.ids[-1] == (
        "waiting-008"
    )  # the lock is free once its holder is gone


# --- the file as it was written ---------------------------------------------------------------


def test_crlf_a_bom_and_comments_are_kept_byte_for_byte(project_copy):
    path = project_copy / STACK
    original = path.read_bytes().replace(b"\n", b"\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + original)

    StackFile.load("local").update_tenant(ACME, {"status": "suspended"})
    changed = b"\xef\xbb\xbf" + original.replace(b"status: active", b"status: suspended", 1)
    assert path.read_bytes() == changed

    StackFile.load("local").add_tenant(tenant("crlf-009"))
    after = path.read_bytes()
    assert after.startswith(changed)
    added = after[len(changed) :]
    assert added.startswith(b"    - tenantId: crlf-009\r\n") and added.endswith(b"\r\n")
    assert b"\n" not in added.replace(b"\r\n", b"")
    assert roster_ids(project_copy)[-1] == "crlf-009"


def test_a_file_without_a_final_newline_keeps_it_so(project_copy):
    path = project_copy / STACK
    original = path.read_bytes().rstrip(b"\n")
    path.write_bytes(original)

    StackFile.load("local").update_tenant(TECHSTART, {"status": "suspended"})
    changed = original[: original.rindex(b"status: active")] + b"status: suspended"
    assert path.read_bytes() == changed
    StackFile.load("local").add_tenant(tenant("no-newline-010"))
    after = path.read_bytes()
    assert after.startswith(changed + b"\n") and after.endswith(b"status: onboarding")


def test_a_symlinked_stack_file_stays_a_link_and_keeps_its_mode(project_copy):
    real = project_copy / "shared" / "local-stack.yaml"
    real.parent.mkdir()
    (project_copy / STACK).rename(real)
    (project_copy / STACK).symlink_to(real)
    real.chmod(0o640)

    StackFile.load("local").add_tenant(tenant("linked-011"))
    assert (project_copy / STACK).is_symlink()
    assert (real.stat().st_mode & 0o777) == 0o640
    assert "linked-011" in real.read_text()
    assert (real.parent / "local-stack.yaml.lock").exists()  # one lock for every name of it


# --- files that are not UTF-8 text ------------------------------------------------------------

NOT_UTF8 = {
    "latin-1": lambda text: text.replace("ACME Corporation", "ACME Société").encode("latin-1"),
    "nul-byte": lambda text: text.replace("ACME Corporation", "ACME\0Corporation").encode(),
    "utf-16": lambda text: text.encode("utf-16"),
}


@pytest.mark.parametrize("case", NOT_UTF8)
def test_a_stack_file_that_is_not_utf8_is_one_line_and_exit_2(project_copy, case, capsys):
    from tenancy.cli import main

    path = project_copy / STACK
    data = NOT_UTF8[case](path.read_text())
    path.write_bytes(data)
    offset = {"latin-1": data.find(b"\xe9"), "nul-byte": data.find(b"\0"), "utf-16": 0}[case]

    for argv in (["roster", "list"], add_argv("never-012")):
        if case == "latin-1":  # one case through a real pipe, as a script meets it
            done = subprocess.run(
                [SALESTALK, *argv], capture_output=True, text=True, env=cli_env(project_copy)
            )
            status, out, err = done.returncode, done.stdout, done.stderr
        else:
            status = main(argv)
            out, err = capsys.readouterr()
        assert status == 2 and out == ""
        assert err.startswith(f"salestalk: error: {STACK} is not UTF-8 text")
        assert f"at byte offset {offset} " in err
        assert err.count("\n") == 1 and "Traceback" not in err
    assert path.read_bytes() == data


# --- compare-and-set, removal -----------------------------------------------------------------


def test_update_tenant_compare_and_set(project_copy):
    path = project_copy / STACK
    StackFile.load("local").update_tenant(ACME, {"moveTo": "pool"})
    mover = StackFile.load("local")  # a move, loaded while the entry says it is moving
    StackFile.load("local").update_tenant(ACME, {"moveTo": None})  # someone calls it off
    before = path.read_bytes()

    switch = {"tier": Tier.POOL, "moveTo": None, "copyLeftIn": "silo"}  # an enum is its text
    with pytest.raises(stack_file_module.StackFileConflictError) as conflict:
        mover.update_tenant(ACME, switch, expect={"moveTo": "pool"})
    assert isinstance(conflict.value, StackFileError)
    assert str(conflict.value) == (
        f"{STACK}: tenant 'acme-corp-001' was changed by another command: expected moveTo "
        "'pool', the file now says (absent); nothing was changed"
    )
    assert path.read_bytes() == before

    StackFile.load("local").update_tenant(ACME, {"moveTo": "pool"})
    settings = mover.update_tenant(ACME, switch, expect={"moveTo": "pool", "copyLeftIn": None})
    acme = settings.roster.get(ACME)
    assert (acme.tier, acme.move_to, acme.copy_left_in) == ("pool", None, "silo")
    assert "      tier: pool\n" in path.read_text()
    with pytest.raises(stack_file_module.StackFileConflictError, match="expected moveTo 'pool'"):
        mover.update_tenant(ACME, switch, expect={"moveTo": "pool"})  # run twice: no switch


COMMENTED = """\
# header
config:
  aws:region: us-east-1
  # the roster
  salestalk:tenants:
    # the first tenant
    - tenantId: alpha-001 # alpha's own comment
      name: Alpha
      industry: Software
      region: Europe
      plan: trial
      ownerEmail: a@alpha.example
    # the second tenant
    - tenantId: beta-002
      name: Beta
      industry: Software
      region: Europe
      plan: trial
      ownerEmail: b@beta.example  # beta's own comment
    # after the roster
  # about protectData
  salestalk:protectData: false
"""


def entry_lines(text: str, tenant_id: str) -> str:
    start = text.index(f"    - tenantId: {tenant_id}")
    end = text.index("\n", text.index("ownerEmail", start)) + 1
    return text[start:end]


@pytest.mark.parametrize("removed", ["alpha-001", "beta-002"])
def test_remove_tenant_removes_its_lines_and_keeps_every_comment_around_it(project_copy, removed):
    path = project_copy / STACK
    path.write_text(COMMENTED)
    settings = StackFile.load("local").remove_tenant(removed)
    kept = {"alpha-001": "beta-002", "beta-002": "alpha-001"}[removed]
    assert settings.roster.ids == [kept]
    assert path.read_text() == COMMENTED.replace(entry_lines(COMMENTED, removed), "")


def test_remove_tenant_refuses_what_it_must(project_copy):
    path = project_copy / STACK
    before = path.read_bytes()
    with pytest.raises(UnknownTenantError, match="'nobody-013' is not in the roster"):
        StackFile.load("local").remove_tenant("nobody-013")
    with pytest.raises(stack_file_module.StackFileConflictError, match="expected status"):
        StackFile.load("local").remove_tenant(ACME, expect={"status": "offboarding"})
    assert path.read_bytes() == before

    settings = StackFile.load("local").remove_tenant(ACME, expect={"status": "active"})
    assert settings.roster.ids == [TECHSTART]
    before = path.read_bytes()
    with pytest.raises(RosterError, match="the roster is empty"):
        StackFile.load("local").remove_tenant(TECHSTART)
    assert path.read_bytes() == before
