"""The command line as scripts and people meet it: real pipes, real signals, every `--help`."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pytest

from tenancy.cli import main
from tenancy.cli.app import DISTRIBUTION, build_parser

SALESTALK = [sys.executable, "-m", "tenancy.cli"]


def _subcommands(parser: argparse.ArgumentParser, path=()):
    for action in parser._actions:  # argparse offers no public walk of its tree
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _subcommands(sub, (*path, name))


def test_every_command_has_a_description_an_example_and_help_on_every_option():
    commands = list(_subcommands(build_parser()))
    assert len(commands) >= 20
    for path, parser in commands:
        name = " ".join(path)
        assert parser.description, f"`salestalk {name}` has no description"
        assert parser.epilog and "  salestalk " in parser.epilog, f"`{name}` has no example"
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
                continue
            if action.option_strings:
                assert action.help, f"`salestalk {name} {action.option_strings[0]}` has no help"


def test_version(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"salestalk {version(DISTRIBUTION)}\n"


@pytest.mark.parametrize(
    "argv", [["roster", "list"], ["roster", "list", "--json"], ["tables"], ["tables", "--json"]]
)
def test_output_into_a_closed_pipe_ends_quietly(argv, tables, endpoint_url):
    """`salestalk tables | head -0`: the reader is gone before the first line is written."""
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url}
    reader, writer = os.pipe()
    os.close(reader)  # as `head` does once it has its lines
    try:
        process = subprocess.run(
            [*SALESTALK, *argv], stdout=writer, stderr=subprocess.PIPE, env=env, timeout=60
        )
    finally:
        os.close(writer)
    assert process.returncode == 141  # 128 + SIGPIPE, as a shell reports `yes | head`
    assert process.stderr == b""


def test_a_real_head_takes_its_lines_and_the_command_ends_quietly(tables, endpoint_url, tmp_path):
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url}
    from tests.ingestion.conftest import make_message

    records = tmp_path / "m.jsonl"
    rows = (make_message(n, senderId="user-jdoe") for n in range(3000))  # far over a pipe's 64 KB
    records.write_text("".join(json.dumps(row) + "\n" for row in rows))
    ingest = subprocess.run(
        [*SALESTALK, "ingest", "messages", "--tenant", "acme-corp-001", str(records)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert ingest.returncode == 0, ingest.stderr
    query = f"{' '.join(SALESTALK)} query sender --tenant acme-corp-001 user-jdoe"
    pipeline = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{query} | head -2"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert len(pipeline.stdout.splitlines()) == 2
    assert "Traceback" not in pipeline.stderr and "BrokenPipe" not in pipeline.stderr
    assert pipeline.returncode == 141  # the status of a writer whose reader went away


def test_tables_and_roster_as_json(capsys, tables):
    assert main(["tables", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["table"] == "tenants-metadata"
    metrics = next(t for t in listed if t["table"] == "tenant-acme-corp-001-metrics")
    assert metrics["tenant"] == "acme-corp-001" and metrics["exists"] and not metrics["drift"]
    assert metrics["hashKey"] and metrics["items"] == 0
    assert set(metrics["indexes"]) and all("projection" in i for i in metrics["indexes"].values())
    assert main(["roster", "list", "--json"]) == 0
    roster = json.loads(capsys.readouterr().out)
    assert [t["tenantId"] for t in roster] == ["acme-corp-001", "techstart-inc-002"]


def test_ctrl_c_during_an_ingest_says_how_far_it_got_and_a_rerun_resumes(
    tables, endpoint_url, tmp_path
):
    from tests.ingestion.conftest import make_metric

    total = 60_000
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps(make_metric(n)) + "\n" for n in range(total)))
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url}
    argv = [*SALESTALK, "ingest", "metrics", "--tenant", "acme-corp-001", str(path), "--json"]
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    table = "tenant-acme-corp-001-metrics"
    deadline = time.monotonic() + 60
    while _stored(tables, table) < 2_000:
        assert process.poll() is None and time.monotonic() < deadline, "no write seen"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends, mid-ingest
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    report = json.loads(out)
    assert 0 < report["written"] < total
    assert f" records ({report['written']:,} written, " in err and "interrupted after " in err
    assert "run the same command again to resume" in err and err.count("interrupted") == 1
    assert "Traceback" not in err
    again = subprocess.run(argv, env=env, capture_output=True, text=True)
    resumed = json.loads(again.stdout)
    assert again.returncode == 0, again.stderr
    assert resumed["duplicates"] == report["written"]  # nothing lost, nothing twice
    assert resumed["written"] + resumed["duplicates"] == total


def _stored(dynamodb, table: str) -> int:
    """Items in a table now, counted by a Scan: DescribeTable's ItemCount is not live on every
    engine (DynamoDB itself refreshes it about every six hours)."""
    pages = dynamodb.get_paginator("scan").paginate(TableName=table, Select="COUNT")
    return sum(page["Count"] for page in pages)


def complete(words: list[str]) -> list[str]:
    """What bash offers after `words` (the last one partly typed), through argcomplete's own
    bash hook, as a shell with `eval "$(register-python-argcomplete salestalk)"` runs it."""
    bin_dir = Path(sys.executable).parent
    line = " ".join(words)
    script = f"""
        eval "$({shlex.quote(str(bin_dir / "register-python-argcomplete"))} salestalk)"
        COMP_WORDS=({" ".join(shlex.quote(w) for w in words)})
        COMP_CWORD={len(words) - 1}; COMP_LINE={shlex.quote(line)}; COMP_POINT=${{#COMP_LINE}}
        _python_argcomplete salestalk {shlex.quote(words[-1])} {shlex.quote(words[-2])}
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=True
    )
    return [w.strip() for w in done.stdout.splitlines() if w.strip()]


@pytest.mark.slow
def test_shell_completion_offers_commands_options_and_choices():
    assert complete(["salestalk", "lo"]) == ["load", "local"]
    assert complete(["salestalk", "loc"]) == ["local"]
    assert {"start", "stop", "status"} <= set(complete(["salestalk", "local", ""]))
    assert complete(["salestalk", "local", "start", "--en"]) == ["--engine"]
    assert "dynamodb-local" in complete(["salestalk", "local", "start", "--engine", ""])


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        ("ingset", "ingest"),
        ("query sendr --tenant acme-corp-001 x", "sender"),
        ("local stat", "status"),  # a prefix of one name wins over a closer spelling
        ("local start --engine ministak", "ministack"),
        ("tenant mvoe", "move"),
        ("roster lst", "list"),
    ],
)
def test_a_misspelt_command_or_choice_gets_the_closest_name(argv, meant, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(shlex.split(argv))
    out, err = capsys.readouterr()
    assert stopped.value.code == 2 and out == ""
    last = err.splitlines()[-1]
    assert "invalid choice" in last and last.endswith(f"; did you mean {meant!r}?"), last


def test_a_name_close_to_nothing_gets_no_guess():
    """Through a real pipe, as a script meets it."""
    done = subprocess.run([*SALESTALK, "bogus"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "invalid choice: 'bogus'" in done.stderr and "did you mean" not in done.stderr


@pytest.mark.slow
def test_tenant_ids_complete_wherever_a_tenant_is_asked_for():
    ids = ["acme-corp-001", "techstart-inc-002"]
    assert complete(["salestalk", "ingest", "metrics", "--tenant", ""]) == ids
    assert complete(["salestalk", "query", "sender", "--tenant", "ac"]) == ["acme-corp-001"]
    assert complete(["salestalk", "tenant", "move", "tech"]) == ["techstart-inc-002"]
    # a tenant named by position: the ids, beside the options argcomplete offers there
    offered = complete(["salestalk", "roster", "set-status", ""])
    assert [word for word in offered if not word.startswith("-")] == ids
    # a stack file that cannot be read offers nothing (and prints nothing)
    assert complete(["salestalk", "seed", "--stack", "nosuch", "--tenant", ""]) == []


def test_a_tenants_region_is_a_sales_region_in_help_and_examples(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    parsers = dict(_subcommands(build_parser()))
    text = parsers[("roster", "add")].format_help()
    assert "the sales region the customer is in" in text
    assert "not an AWS region" in text and "us-east-1" not in text


def _too_wide(text: str, width: int) -> list[str]:
    """Lines over `width`, but for the examples, kept as written so they can be copied."""
    examples = False
    wide = []
    for line in text.splitlines():
        examples = examples or line.startswith("example")
        if len(line) > width and not (examples and line.startswith("  ")):
            wide.append(line)
    return wide


def test_every_help_is_wrapped_to_the_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "70")
    for path, parser in [((), build_parser()), *_subcommands(build_parser())]:
        assert _too_wide(parser.format_help(), 70) == [], " ".join(path)


def test_help_in_a_narrow_terminal_fits_it():
    """In a pseudo-terminal 60 columns wide (no COLUMNS variable): what a person sees."""
    from tests.support.terminal import in_a_terminal

    text = in_a_terminal([*SALESTALK, "tenant", "drop-copy", "--help"], os.environ, 60)
    assert "Delete the copy a finished move left" in text
    assert _too_wide(text, 60) == [], text
