"""The conversations report's opening line: what it covers and how fresh it is."""

from __future__ import annotations

from types import SimpleNamespace

from ingestion.notebook_support import conversation_sections, table_inventory
from ingestion.notebook_support.conversation_sections import ConversationsChoice
from ingestion.reading.ownership import Refusals, Refused
from ingestion.records.contracts import Message
from tests.ingestion.conftest import ACME, make_message


def choice_of(messages: list[Message], refused: Refusals | None = None) -> ConversationsChoice:
    """A choice whose reads are already made (no endpoint needed for the printing)."""
    choice = ConversationsChoice(workspace=None, tenant_id=ACME)  # type: ignore[arg-type]
    choice.__dict__["read"] = conversation_sections.SessionsRead(messages, [])
    choice.__dict__["sessions"] = sorted({m.session_id for m in messages})
    choice.__dict__["sample"] = table_inventory.SessionSample(choice.sessions, len(messages), True)
    choice.__dict__["reader"] = SimpleNamespace(refused=refused or Refusals(ACME))
    return choice


def test_overview_names_the_newest_message_time(capsys):
    messages = [Message.model_validate(make_message(n, timestamp=1_768_212_000 + 60 * n))
                for n in (0, 11, 3)]  # fmt: skip
    conversation_sections.overview(choice_of(messages))
    assert capsys.readouterr().out == (
        f"{ACME}: 2 sessions, 3 messages; newest message 2026-01-12 10:11 UTC\n"
    )


def test_a_tenant_without_messages_reads_as_such(capsys):
    choice = choice_of([])
    conversation_sections.overview(choice)
    conversation_sections.intents(choice)
    assert capsys.readouterr().out == (
        f"{ACME}: 0 sessions, 0 messages\n{ACME} has no messages yet\n"
    )


def test_one_of_each_is_singular(capsys):
    conversation_sections.overview(choice_of([Message.model_validate(make_message(5))]))
    assert capsys.readouterr().out.startswith(f"{ACME}: 1 session, 1 message; newest message ")


def test_items_skipped_as_not_the_tenants_are_said_under_the_overview(capsys):
    """Another tenant's planted item costs the report nothing but a note (never an error)."""
    refused = Refusals(ACME)
    refused.add(Refused("pool-messages", {"tenantMessageId": "x#1"}, "it names tenant 'x'"))
    conversation_sections.overview(choice_of([Message.model_validate(make_message(5))], refused))
    out = capsys.readouterr().out.splitlines()
    assert out[1] == (
        f"note: skipped 1 item that is not tenant {ACME!r}'s records (never served, copied or "
        "counted): pool-messages (tenantMessageId='x#1'): it names tenant 'x'"
    )
