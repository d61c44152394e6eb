"""The tenant life cycle, attacked a second time: fifteen findings of an outside review of the
first fix (erase racing an ingest, stale progress files, merge keys, a move finished between
two `pulumi up`s, planted leases, clock skew, exports that could not be ingested back...),
each now a test of the promise it broke, on the embedded engine and on DynamoDB Local.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import signal
import threading
import time
from pathlib import Path

import pulumi
import pytest

from ingestion.lifecycle.export import MANIFEST
from ingestion.lifecycle.failpoints import FAILPOINT_ENV
from ingestion.records.items import MESSAGE, METRIC
from ingestion.records.sources import SourceRecord
from ingestion.writing.lease import LEASE_KEY
from ingestion.writing.writer import TenantWriter
from tenancy.cli.common import EXIT_OK
from tenancy.roster import Tier
from tenancy.stack_file import StackFile
from tests.conftest import session_client
from tests.ingestion.conftest import ACME, as_source, make_message, make_metric
from tests.ingestion.lifecycle.conftest import TRIAL, add_trial, ingest, provision, run
from tests.reliability.conftest import WAIT_FOR_ENV, salestalk
from tests.reliability.test_lifecycle_attacks import keyed_under, plant
from tests.reliability.test_processes import finish
from tests.support.pulumi_program import TABLE_TYPE, run_program
from tests.support.stacks import local_roster, with_roster

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def state(project_copy, monkeypatch):
    monkeypatch.chdir(project_copy)
    return project_copy / ".salestalk"


def offboarding(tenant_id: str) -> None:
    StackFile.load("local").update_tenant(tenant_id, {"status": "offboarding"})


def manifest_of(state: Path, tenant_id: str) -> dict:
    (folder,) = [p for p in (state / "exports").glob(f"{tenant_id}-*") if p.is_dir()]
    return json.loads((folder / MANIFEST).read_text())


def erasure_record(state: Path, tenant_id: str) -> dict:
    (path,) = (state / "erasures").glob(f"{tenant_id}-*.json")
    return json.loads(path.read_text())


# --- F1: erase checks the export before it waits for in-flight ingests -----------------------


def test_F1_erase_deletes_records_no_export_holds_when_an_ingest_was_in_flight(
    trial, state, capsys
):
    """Promise: erase deletes only after "its data was exported (the newest export's counts are
    what is stored now)". The check runs BEFORE the lock: an ingest already under way (started
    while the tenant was active, e.g. a stream paused on stdin) holds the lease, the export and
    the count agree, erase then *waits for that ingest to finish* and deletes what it wrote,
    although no export holds it."""
    settings = StackFile.load("local").settings()
    gate = threading.Event()

    def stream():
        for n in range(100, 200):
            yield SourceRecord(f"line {n}", data=make_message(n, TRIAL))
        gate.wait(60)  # the producer pauses (a pipe, a slow upstream)
        for n in range(200, 300):
            yield SourceRecord(f"line {n}", data=make_message(n, TRIAL))

    writer = TenantWriter(session_client(), settings, TRIAL, MESSAGE)
    ingesting = threading.Thread(target=writer.ingest, args=(stream(),))
    ingesting.start()
    deadline = time.monotonic() + 30
    while len(keyed_under(trial, TRIAL)) < 40 + 15 + 100 and time.monotonic() < deadline:
        time.sleep(0.2)

    offboarding(TRIAL)  # README step 1; the ingest under way goes on, as it may
    assert run(capsys, "tenant", "export", TRIAL)[0] == EXIT_OK
    exported = manifest_of(state, TRIAL)["files"]["messages"]["records"]
    assert exported == 115

    result = {}
    erasing = threading.Thread(
        target=lambda: result.update(status=run(capsys, "tenant", "erase", TRIAL))
    )
    erasing.start()
    time.sleep(3)  # erase is now waiting for the ingest's lease
    gate.set()
    ingesting.join(60)
    erasing.join(120)
    status, _, err = result["status"]
    assert status == 2 and "export again, then erase" in err  # checked under the lease
    assert len(keyed_under(trial, TRIAL)) == 40 + 15 + 200  # nothing deleted


# --- F2: the tier guard cannot see tenants onboarded the README's way -------------------------


def test_F2_tier_flipped_by_hand_passes_validate_and_provision_after_readme_onboarding(
    project_copy, dynamodb, capsys
):
    """Promise (tier_guard): `provision` and `roster validate` refuse a tier that changed without
    a move. Their only source is `tenants-metadata`, which only `seed`/`up`/a move write. A
    tenant onboarded exactly as the README's walkthrough does (`roster add`, `provision`,
    `ingest`) has no row, so it counts as "new" forever: flipping its `tier` by hand passes
    both, provision builds the silo tables, and every read now finds nothing."""
    examples = REPO / "seed_data" / "_examples"
    assert (
        run(
            capsys,
            "roster",
            "add",
            "--stack",
            "local",
            "--tenant-id",
            "initech-004",
            "--name",
            "Initech",
            "--industry",
            "Software",
            "--region",
            "North America",
            "--plan",
            "trial",
            "--owner-email",
            "data@initech.example",
        )[0]
        == EXIT_OK
    )
    assert run(capsys, "provision", "--stack", "local")[0] == EXIT_OK
    assert (
        run(
            capsys,
            "ingest",
            "metrics",
            "--tenant",
            "initech-004",
            str(examples / "initech-004-metrics.jsonl"),
        )[0]
        == EXIT_OK
    )
    assert run(capsys, "query", "series", "--tenant", "initech-004", "revenue")[0] == EXIT_OK

    path = project_copy / "Pulumi.local.yaml"
    path.write_text(path.read_text().replace("      tier: pool", "      tier: silo"))
    validate = run(capsys, "roster", "validate", "--stack", "local")
    provisioned = run(capsys, "provision", "--stack", "local")
    assert validate[0] == provisioned[0] == 2, (validate, provisioned)
    assert "its data is in pool" in provisioned[2]


# --- F3: drop-copy before `pulumi up`: the program refuses, and its advice deletes the data ----


def _trial_entry(**extra):
    return {**local_roster()[0], "tenantId": TRIAL, "plan": "trial", **extra}


def test_F3_pulumi_refuses_a_finished_move_and_its_advice_drops_the_silo_tables():
    """A legitimate procedure: `tenant move --to silo` (mark), `pulumi up` (silo tables
    made), `tenant move` (switch), `tenant drop-copy` (pool copy deleted), then `pulumi up`.
    The program compares with its own last outputs (tier pool, recorded at the mark) and
    refuses: "its data is in pool ... Put `tier: pool` in its entry to keep it in pool". The data
    is in silo only. Following that advice passes the program and stops registering the
    tenant's silo tables: on the unprotected local stack Pulumi deletes them, data and all.
    (`provision`/`roster validate`, reading tenants-metadata, say the opposite.)"""
    deployed = run_program(with_roster([*local_roster(), _trial_entry()]))
    marked = run_program(
        with_roster([*local_roster(), _trial_entry(moveTo="silo")]), previous=deployed.exports
    )
    assert marked.exports["tenants"][TRIAL]["tier"] == "pool"
    silo = {f"tenant-{TRIAL}-messages", f"tenant-{TRIAL}-metrics"}
    assert silo <= {r.inputs["name"] for r in marked.of_type(TABLE_TYPE)}

    # switch + drop-copy ran (no `pulumi up` between): the entry is now `tier: silo`, and
    # tenants-metadata says silo (the switch recorded it)
    finished = run_program(
        with_roster([*local_roster(), _trial_entry(tier="silo")]),
        previous=marked.exports,
        registered={TRIAL: "silo"},
    )
    assert silo <= {r.inputs["name"] for r in finished.of_type(TABLE_TYPE)}
    # the advice of a refusal never drops tables that hold data: it names the move command
    with pytest.raises(pulumi.RunError) as refused:
        run_program(
            with_roster([*local_roster(), _trial_entry(tier="silo")]), previous=marked.exports
        )
    assert f"salestalk tenant move {TRIAL} --to silo" in str(refused.value)


# --- F4: erasing tenant `X` drops every tenant's seeding quarantine entries whose path has /X/ --


def test_F4_erasing_a_tenant_named_like_a_folder_drops_other_tenants_quarantine_entries(
    tmp_path, dynamodb, monkeypatch, capsys
):
    """Promise: erase removes "its entries in seeding's shared [quarantine files]". The test is
    `f"/{tenant_id}/" in source`, and `source` is the absolute seed file path. A valid tenant id
    equal to any folder on the way to the project (`srv`, `work`, `main`, `salestalk`,
    `platform`...) matches every entry, and erasing it deletes ACME's quarantined records."""
    project = tmp_path / "platform"  # e.g. /srv/platform; the tenant is called `platform`
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.local.yaml"):
        shutil.copy(REPO / name, project / name)
    (project / "seed_data" / ACME).mkdir(parents=True)
    bad = [{"tenantId": ACME, "messageId": " not trimmed "}]  # quarantined at seeding
    (project / "seed_data" / ACME / "messages.json").write_text(json.dumps(bad))
    monkeypatch.setenv("SALESTALK_PROJECT_DIR", str(project))
    monkeypatch.chdir(project)
    add_trial(dynamodb, "platform")
    provision(dynamodb)
    assert run(capsys, "seed", "--tenant", ACME)[0] == 1  # one record rejected
    (shared,) = (project / ".salestalk" / "quarantine").glob("seed-*.jsonl")
    assert ACME in shared.read_text()

    offboarding("platform")
    status, out, err = run(capsys, "tenant", "erase", "platform", "--without-export")
    assert status == EXIT_OK, err
    assert shared.exists() and ACME in shared.read_text(), out


# --- F5: a progress file left by a killed erase disarms every later check ---------------------


def test_F5_a_stale_erase_progress_file_erases_a_reonboarded_active_tenant_without_export(
    trial, state, endpoint_url, project_copy, capsys
):
    """Promise: erase refuses a tenant that takes data (`active`) and one without a current
    export. Both checks run only on a first run; a run that finds `TENANT.in-progress.json`
    "resumes" without them, however old the file and whatever the roster says now. An erase
    killed near its end (here after the roster step) leaves that file; the id is later
    onboarded again and ingests; any `tenant erase` of it then deletes it, active and
    unexported, and removes it from the roster."""
    offboarding(TRIAL)
    env = {"SALESTALK_PROJECT_DIR": str(project_copy)}
    argv = ("tenant", "erase", TRIAL, "--without-export")
    status, _, _ = finish(
        salestalk(*argv, endpoint=endpoint_url, env={**env, FAILPOINT_ENV: "erase:roster"})
    )
    assert status == -signal.SIGKILL
    assert list((state / "erasures").glob("*.in-progress.json"))

    add_trial(trial)  # the same id onboarded again (a returning customer), active
    provision(trial)
    ingest(trial, TRIAL, 5, 5)
    status, out, err = finish(salestalk("tenant", "erase", TRIAL, endpoint=endpoint_url, env=env))
    assert status == 2 and "is active" in err and "never finished" in err, out + err
    assert len(keyed_under(trial, TRIAL)) >= 10


# --- F6: erase's export check compares counts only ------------------------------------------


def test_F6_an_export_older_than_restated_metrics_passes_the_erase_check(trial, state, capsys):
    """Promise: "its data was exported (the newest export's counts are what is stored now)".
    Equal counts are not equal data: metrics restated with `--accept-updates` after the
    export leave every count unchanged, erase accepts the stale export and deletes the only
    copy of the restated values (the manifest's SHA-256s are never compared with the store)."""
    assert run(capsys, "tenant", "export", TRIAL)[0] == EXIT_OK
    settings = StackFile.load("local").settings()
    restated = [make_metric(n, TRIAL, value=10_000 + n) for n in range(40)]
    report = TenantWriter(trial, settings, TRIAL, METRIC, accept_updates=True).ingest(
        as_source(restated)
    )
    assert report.updated == 40
    offboarding(TRIAL)
    status, out, err = run(capsys, "tenant", "erase", TRIAL)
    exported = (next((state / "exports").glob(f"{TRIAL}-*")) / "metrics.jsonl").read_text()
    assert '"value": 10000' not in exported
    assert status == 2 and "export again" in err, out
    assert len(keyed_under(trial, TRIAL)) == 55


# --- F7: items a pooled tenant keys under its own id but keeps off its index survive erase ----


def test_F7_items_under_the_tenants_own_keys_survive_its_erasure_unreported(trial, state, capsys):
    """Promise: erase deletes "all of a tenant's data, in both tiers" and records what it
    removed. Its pool pass only sees what the tenant index lists. The tenant's role may write
    items under its own leading key with no `tenantShard`, no `recordKey`, or a shard of
    another tenant: after a successful erase (exit 0, record written) they are still in the
    pool, and neither the output nor the erasure record mentions them."""
    hidden = [
        {"tenantMessageId": f"{TRIAL}#hidden-1", "tenantId": TRIAL, "content": "no shard"},
        {"tenantMessageId": f"{TRIAL}#hidden-2", "tenantId": TRIAL, "tenantShard": f"{TRIAL}#00"},
        {
            "tenantMessageId": f"{TRIAL}#hidden-3",
            "tenantId": TRIAL,
            "recordKey": "x",
            "tenantShard": "acme-corp-001#07",
        },
    ]
    for item in hidden:
        plant(trial, "pool-messages", item)
    offboarding(TRIAL)
    status, out, err = run(capsys, "tenant", "erase", TRIAL, "--without-export")
    assert status == EXIT_OK, err
    assert len(keyed_under(trial, TRIAL)) == 3  # what the index does not list...
    assert "not swept" in out and "--sweep" in out  # ...is said to be not looked for
    assert erasure_record(state, TRIAL)["swept"] is False


def test_F7_an_erasure_with_sweep_leaves_nothing_under_the_tenants_keys(trial, state, capsys):
    for n in range(3):
        plant(trial, "pool-messages", {"tenantMessageId": f"{TRIAL}#hidden-{n}", "x": n})
    plant(trial, "pool-messages", {"tenantMessageId": f"{ACME}#other", "tenantId": TRIAL})
    offboarding(TRIAL)
    status, _, err = run(capsys, "tenant", "erase", TRIAL, "--without-export", "--sweep")
    assert status == EXIT_OK, err
    assert keyed_under(trial, TRIAL) == [] and len(keyed_under(trial, ACME)) == 1
    record = erasure_record(state, TRIAL)
    assert record["swept"] is True and record["poolItemsDeleted"]["pool-messages"] == 15 + 3


# --- F8: a tenant can veto its own erasure (and moves) with a lease item under its own key ---


def test_F8_a_lease_item_the_tenant_planted_blocks_its_erasure_for_good(
    trial, state, capsys, monkeypatch
):
    """Promise: an erase waits (bounded) for the tenant's ingests, then proceeds. The lease is
    an item under the tenant's own key, which its own role may write with any fields: a
    "lease" with no fence, another host, and `leaseExpires` 10**12 is never expired and never
    "dead here". Every erase (and move) then waits its full 300 s and refuses, saying an
    ingest "kept writing", with no way out offered; no command can clear it.
    (The wait is cut to 3 s here; the behaviour is the same at 300 s.)"""
    import functools

    import ingestion.lifecycle.erase as erase_module

    monkeypatch.setattr(
        erase_module, "TenantLock", functools.partial(erase_module.TenantLock, wait_seconds=3)
    )
    plant(trial, "pool-messages", {  # written while the tenant was active, by its own role
        "tenantMessageId": f"{TRIAL}#{LEASE_KEY}", "leaseOwner": "x", "leaseHost": "elsewhere",
        "leasePid": 1, "leaseExpires": 10**12,
    })  # fmt: skip
    offboarding(TRIAL)
    outcomes = [run(capsys, "tenant", "erase", TRIAL, "--without-export") for _ in range(2)]
    assert outcomes[-1][0] == EXIT_OK, outcomes[-1][2]


# --- F9: stored records the export writes but `salestalk ingest` refuses back -----------------


def _export_lines(capsys, state, tenant_id):
    assert run(capsys, "tenant", "export", tenant_id)[0] == EXIT_OK
    folder = next(p for p in (state / "exports").glob(f"{tenant_id}-*") if p.is_dir())
    return folder / "messages.jsonl"


def test_F9a_an_export_whose_first_record_is_over_8_KB_is_refused_whole_as_csv(
    trial, state, capsys
):
    """Promise: an export is "what `salestalk ingest` takes back", and the input look "never
    refuses anything valid". The look parses whole lines of the first 8,192 bytes; a first
    line longer than that is cut, fails to parse, and the whole file is refused as CSV
    ("looks like CSV", exit 2, nothing written). A pooled tenant holding one 10 KB message
    (accepted when sent as a JSON array, or second in a file) exports a file that ingest
    refuses entirely. (Any JSON Lines input starting with a long record is refused so.)"""
    add_trial(trial, "longtalk")
    provision(trial)
    source = state.parent / "long.json"
    source.write_text(json.dumps([make_message(1, "longtalk", content="x" * 10_000)]))
    status, _, err = run(capsys, "ingest", "messages", "--tenant", "longtalk", str(source))
    assert status == EXIT_OK, err
    exported = _export_lines(capsys, state, "longtalk")
    status, _, err = run(capsys, "ingest", "messages", "--tenant", "longtalk", str(exported))
    assert status == EXIT_OK, err


def test_F9b_an_exported_record_is_refused_by_ingest_as_longer_than_1_MB(trial, state, capsys):
    """The export writes JSON with ASCII escapes: an astral character (4 bytes of UTF-8)
    becomes a 12-byte surrogate pair. A valid message stored within DynamoDB's 400 KB
    (95,000 emoji, 380 KB of input) is exported as a 1.14 MB line, and ingest refuses any
    record longer than 1 MB: the tenant's own exported record cannot be loaded back."""
    big = make_message(500, TRIAL, content="\U0001f600" * 95_000)
    source = state.parent / "big.json"
    source.write_text(json.dumps([big], ensure_ascii=False), encoding="utf-8")
    status, out, err = run(capsys, "ingest", "messages", "--tenant", TRIAL, str(source), "--json")
    assert status == EXIT_OK and json.loads(out)["written"] == 1, err
    lines = _export_lines(capsys, state, TRIAL).read_text().splitlines()
    (line,) = [text for text in lines if "msg-000500" in text]
    assert len(line.encode()) < 1024 * 1024  # UTF-8, not escapes: the record's own size
    short = next(text for text in lines if "msg-000500" not in text)
    back = state.parent / "back.jsonl"
    back.write_text(short + "\n" + line + "\n")  # a short record first: past the input look
    status, out, err = run(capsys, "ingest", "messages", "--tenant", TRIAL, str(back), "--json")
    assert json.loads(out)["rejected"] == 0, out


# --- F10: drop-copy deletes the tenant's items that the move did not copy -------------------


def test_F10_a_record_valid_when_ingested_is_skipped_by_the_move_and_deleted_by_drop_copy(
    trial, capsys, monkeypatch
):
    """Promise: a move copies the tenant's records and drop-copy deletes the old copy only
    once the serving tier holds all of it. Both judge "records" by the contract *at the time
    they run*, and the contract depends on the clock ("timestamp at most one day ahead of
    now"). A message ingested on a host whose clock is 5 minutes ahead, timestamped just under
    a day ahead, is valid there; on the operator's host the move skips it as "not the tenant's
    record", the comparison ignores it on both sides, and drop-copy deletes it. (Any item the
    tenant's role wrote by hand, or a record a later contract version refuses, goes the same
    way: drop-copy deletes every item under the tenant's keys, copied or not.)"""
    import ingestion.records.contracts as contracts

    real = time.time
    skewed = real() + 300
    future = int(skewed) + 86_400 - 10
    monkeypatch.setattr(contracts.time, "time", lambda: real() + 300)  # the ingest host
    settings = StackFile.load("local").settings()
    report = TenantWriter(trial, settings, TRIAL, MESSAGE).ingest(
        as_source([make_message(777, TRIAL, timestamp=future)])
    )
    assert report.written == 1
    monkeypatch.setattr(contracts.time, "time", real)  # the operator's host

    assert run(capsys, "tenant", "move", TRIAL, "--to", "silo")[0] == EXIT_OK  # mark
    provision(trial)
    status, _, err = run(capsys, "tenant", "move", TRIAL, "--to", "silo")
    assert status == EXIT_OK, err
    status, _, err = run(capsys, "tenant", "drop-copy", TRIAL, "--yes")
    assert status == EXIT_OK, err
    everywhere = [
        str(i)
        for t in ("pool-messages", f"tenant-{TRIAL}-messages")
        for i in trial.scan(TableName=t)["Items"]
    ]
    assert any("msg-000777" in text for text in everywhere), "msg-000777 is gone"


# --- F11: `salestalk seed` / `salestalk up` apply a hand-flipped tier and launder the guard ---


@pytest.mark.parametrize("command", [("seed",), ("up", "--skip-notebooks")])
def test_F11_seed_and_up_write_a_hand_flipped_tier_into_tenants_metadata(
    project_copy, dynamodb, capsys, command, monkeypatch
):
    """Promise: every place that applies a roster refuses a tier change no move made.
    `salestalk up` (provision + seed, also what the notebooks run on "Run All") provisions
    without the tier check, and seeding's `register_tenants` writes the roster's tier over the
    stored one ("the roster wins"). After a hand edit `tier: pool` on siloed acme-corp-001,
    `up`/`seed` succeed, tenants-metadata now says pool, and `provision` and `roster
    validate` then report "tiers match": acme's data is left in tables it is no longer
    served from."""
    monkeypatch.chdir(project_copy)
    assert run(capsys, "provision", "--stack", "local")[0] == EXIT_OK
    shutil.copytree(REPO / "seed_data", project_copy / "seed_data")
    assert run(capsys, "seed")[0] == EXIT_OK  # deployed: acme-corp-001 in silo, registered
    StackFile.load("local").update_tenant(ACME, {"tier": "pool"})  # the hand edit
    assert run(capsys, "provision", "--stack", "local")[0] != EXIT_OK  # refused, as promised

    status, _, err = run(capsys, *command)
    validate = run(capsys, "roster", "validate", "--stack", "local")
    assert status != EXIT_OK and validate[0] != EXIT_OK, (status, err, validate)


# --- F12: the erasure record under-counts after a kill inside a step --------------------------


def test_F12_an_erasure_killed_mid_step_records_fewer_deletions_than_it_made(
    trial, state, endpoint_url, project_copy
):
    """Promise: "killed anywhere, `erase` run again picks up where it was ... and the record
    counts both runs". Counts are saved only at step ends; a kill inside the pool step (the
    `delete:chunk` failpoint, after the first 100-item batch) loses that batch from the
    erasure record (the evidence kept of what was removed). Same for a kill between the two
    `DeleteTable`s of the silo step (the first table's count and name are lost)."""
    offboarding(TRIAL)
    env = {"SALESTALK_PROJECT_DIR": str(project_copy)}
    argv = ("tenant", "erase", TRIAL, "--without-export")
    status, _, _ = finish(
        salestalk(*argv, endpoint=endpoint_url, env={**env, FAILPOINT_ENV: "delete:chunk"})
    )
    assert status == -signal.SIGKILL
    status, _, err = finish(salestalk(*argv, endpoint=endpoint_url, env=env))
    assert status == 0, err
    assert keyed_under(trial, TRIAL) == []
    assert sum(erasure_record(state, TRIAL)["poolItemsDeleted"].values()) == 55


# --- F13: a roster written with YAML merge keys: moves edit other tenants, crash, corrupt it --


MERGED_ROSTER = """\
  salestalk:tenants:
    - &trial
      tenantId: alpha-trial
      name: Alpha
      industry: Software
      region: Europe
      plan: trial
      ownerEmail: a@alpha.example
      status: active
    - <<: *trial
      tenantId: beta-trial
      name: Beta
      ownerEmail: b@beta.example
"""


def test_F13_moves_in_a_roster_with_merge_keys_mark_crash_and_corrupt(
    project_copy, dynamodb, capsys
):
    """Promise: "anchors and merge keys of normal size are fine"; a stack-file edit changes one
    entry, is validated whole before it is written, and is atomic. With the second trial
    tenant written `<<: *trial` (the first entry anchored), as one writes many trial tenants:
    1. `tenant move alpha-trial --to silo` writes `moveTo` into the anchored mapping, so
       beta-trial is "moving to silo" too;
    2. the second run copies, verifies and FENCES alpha's pool data, then the switch
       (`update_tenant` popping `moveTo`) dies in ruamel with a KeyError traceback: alpha is
       fenced in the tier the roster still serves it from; its ingests stop, every re-run dies
       the same way;
    3. `tenant move beta-trial --to silo` then succeeds and writes a file that is invalid once
       re-read (beta inherits `moveTo` again beside `tier`/`copyLeftIn`): every command,
       `roster list` included, now refuses the stack file."""
    path = project_copy / "Pulumi.local.yaml"
    text = path.read_text()
    path.write_text(text[: text.index("  salestalk:tenants:")] + MERGED_ROSTER)
    provision(dynamodb)
    for tenant in ("alpha-trial", "beta-trial"):
        ingest(dynamodb, tenant, 3, 3)
    before = path.read_bytes()
    status, _, err = run(capsys, "tenant", "move", "alpha-trial", "--to", "silo")
    assert status == 2 and "merge key" in err and "nothing was changed" in err
    assert path.read_bytes() == before  # nothing marked, nothing fenced
    settings = StackFile.load("local").settings()
    TenantWriter(dynamodb, settings, "alpha-trial", MESSAGE).ingest(
        as_source([make_message(900, "alpha-trial")])
    )
    # the entry that merges (not anchored itself) moves as any other
    assert run(capsys, "tenant", "move", "beta-trial", "--to", "silo")[0] == EXIT_OK
    provision(dynamodb)
    status, _, err = run(capsys, "tenant", "move", "beta-trial", "--to", "silo")
    assert status == EXIT_OK, err
    assert run(capsys, "roster", "list")[0] == EXIT_OK
    settings = StackFile.load("local").settings()
    assert settings.tier(settings.roster.get("alpha-trial")) is Tier.POOL
    assert settings.tier(settings.roster.get("beta-trial")) is Tier.SILO


# --- F14: a move whose switch is refused leaves its fence: "nothing was changed" is not so ----


@pytest.mark.parametrize("edit", ["moveTo removed", "entry removed"])
def test_F14_a_move_refused_at_the_switch_leaves_the_serving_tier_fenced(
    trial, capsys, monkeypatch, edit
):
    """The switch is a compare-and-set on `moveTo`: if an operator took the move back by hand
    while it copied (removed `moveTo`, or the whole entry to offboard it), the move refuses
    with "was changed by another command ... nothing was changed" (exit 2). But the source
    tier, still the one the roster serves the tenant from, was fenced just before: its
    ingests now stop ("moved to silo") for good, `tenant move --to pool` says it is already
    there, and only a new move to silo lifts the fence."""
    import ingestion.lifecycle.move as move_module

    assert run(capsys, "tenant", "move", TRIAL, "--to", "silo")[0] == EXIT_OK  # mark
    provision(trial)

    def operator_edits(name):  # while the copy runs, the operator takes the move back
        if name == "move:verified":
            stack = StackFile.load("local")
            if edit == "moveTo removed":
                stack.update_tenant(TRIAL, {"moveTo": None})
            else:
                stack.remove_tenant(TRIAL)
                add_trial(trial)  # ...and, say, re-adds it as it was (pooled trial)

    monkeypatch.setattr(move_module, "failpoint", operator_edits)
    status, _, err = run(capsys, "tenant", "move", TRIAL, "--to", "silo")
    assert status == 1 and "the switch was refused" in err and "its writes go on" in err
    settings = StackFile.load("local").settings()
    assert settings.tier(settings.roster.get(TRIAL)) is Tier.POOL
    report = TenantWriter(trial, settings, TRIAL, MESSAGE).ingest(
        as_source([make_message(901, TRIAL)])
    )
    assert report.written == 1  # not fenced


# --- F15: two erasures of one tenant run at once: erase's fences exclude nobody of its kind ---


def _lock_held(path: Path) -> bool:
    """Whether another process holds the erasure lock on `path` (flock, as erase takes it)."""
    try:
        with open(path) as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(lock, fcntl.LOCK_UN)
            return False
    except FileNotFoundError:
        return False


def test_F15_two_erasures_of_one_tenant_run_together_and_corrupt_the_record(
    trial, state, endpoint_url, project_copy
):
    """Promise: tenant operations are serialized by the tenant's leases ("two operations on
    one tenant wait for each other"). An erasure turns its leases into `erased` fences at
    once, and every erasure may take over any fence (`ALL_FENCES`): a second `tenant erase`
    started a moment later does not wait, it deletes beside the first. They share one
    progress file (`TENANT.in-progress.json`, same `.tmp` name): one dies with a
    FileNotFoundError traceback, and the erasure record kept as evidence under-counts what
    was deleted (the other run's deletions are in no record)."""
    settings = StackFile.load("local").settings()
    TenantWriter(trial, settings, TRIAL, MESSAGE).ingest(
        as_source([make_message(n, TRIAL) for n in range(1000, 4000)])
    )
    offboarding(TRIAL)
    env = {"SALESTALK_PROJECT_DIR": str(project_copy)}
    argv = ("tenant", "erase", TRIAL, "--without-export")
    go = project_copy / "second-may-start"
    # The second is started first and waits, imported, for the word: on a loaded machine a
    # cold start takes longer than the first's whole erasure, which would then not overlap.
    second = salestalk(*argv, endpoint=endpoint_url, env={**env, WAIT_FOR_ENV: str(go)})
    first = salestalk(*argv, endpoint=endpoint_url, env=env)
    deadline = time.monotonic() + 120
    while not _lock_held(state / "erasures" / f"{TRIAL}.lock"):  # the first is erasing
        assert first.poll() is None and time.monotonic() < deadline, finish(first)
        time.sleep(0.01)
    go.touch()
    outcomes = [finish(first), finish(second)]
    assert keyed_under(trial, TRIAL) == []
    records = [json.loads(p.read_text()) for p in (state / "erasures").glob(f"{TRIAL}-*.json")]
    assert [o[0] for o in outcomes] == [0, 2], outcomes
    assert "another erasure of tenant 'initech-004' is running" in outcomes[1][2]
    assert not any("Traceback" in err for _, _, err in outcomes)
    assert not list((state / "erasures").glob("*.in-progress.json"))
    (record,) = records
    assert sum(record["poolItemsDeleted"].values()) == 40 + 15 + 3000
