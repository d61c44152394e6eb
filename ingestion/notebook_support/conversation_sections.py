"""The sections of the conversations notebook, each drawn for one tenant (see `pickers`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from ingestion.notebook_support import dataframes, plots, table_inventory
from ingestion.notebook_support.readable_tables import note, show
from ingestion.notebook_support.workspace import Workspace
from ingestion.reading.queries import TenantReader
from ingestion.records.contracts import Message

# What a report shows of a tenant, whatever it holds: its newest sessions (others by choice),
# and the newest messages of each.
SHOWN_SESSIONS = 10
MESSAGES_PER_SESSION = 200


@dataclass(frozen=True)
class SessionsRead:
    messages: list[Message]
    cut: list[str]  # sessions with more messages than were read


@dataclass
class ConversationsChoice:
    """One tenant's sessions and messages, read once per pick: the sessions `chosen`, or the
    newest SHOWN_SESSIONS a bounded read finds (`table_inventory.recent_sessions`)."""

    workspace: Workspace
    tenant_id: str
    chosen: Sequence[str] | None = None

    @cached_property
    def reader(self) -> TenantReader:
        """The tenant's reader: it also keeps the items it skipped as not the tenant's."""
        return self.workspace.reader(self.tenant_id)

    @cached_property
    def sample(self) -> table_inventory.SessionSample:
        return table_inventory.recent_sessions(
            self.workspace.client, self.workspace.settings, self.tenant_id, self.reader.refused
        )

    @cached_property
    def sessions(self) -> list[str]:
        if self.chosen:
            return list(self.chosen)
        return sorted(self.sample.sessions[:SHOWN_SESSIONS])

    @cached_property
    def read(self) -> SessionsRead:
        """Each shown session's first MESSAGES_PER_SESSION messages, in time order."""
        found, cut = [], []
        for session in self.sessions:
            page = self.reader.session_query(session).page(MESSAGES_PER_SESSION)
            found += sorted(page.records, key=lambda m: (m.timestamp, m.message_id))
            if page.next_token:
                cut.append(session)
        return SessionsRead(found, cut)

    @property
    def messages(self) -> list[Message]:
        return self.read.messages

    @property
    def cut(self) -> list[str]:
        """The sessions shown in part: more messages than a report shows of one."""
        return self.read.cut

    @cached_property
    def frame(self) -> pd.DataFrame:
        return dataframes.messages_frame(self.messages)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def overview(choice: ConversationsChoice) -> None:
    """What the report covers, and how fresh it is: the newest message's time. A tenant with
    more than a report shows says how much of it is shown, and how to see other sessions."""
    counts = f"{_count(len(choice.sessions), 'session')}, {_count(len(choice.messages), 'message')}"
    if not choice.chosen and not choice.sample.complete:
        counts = (
            f"the newest {_count(len(choice.sessions), 'session')} among the "
            f"{len(choice.sample.sessions):,} found in {choice.sample.read:,} of its messages "
            "(a bounded read: DynamoDB keeps no time order across a tenant's sessions, so "
            "newer ones may be among the messages not read; `sessions` or the picker "
            f"chooses others), {_count(len(choice.messages), 'message')}"
        )
    elif not choice.chosen and len(choice.sample.sessions) > len(choice.sessions):
        counts = (
            f"the newest {_count(len(choice.sessions), 'session')} of "
            f"{len(choice.sample.sessions):,} (`sessions` or the picker chooses others), "
            f"{_count(len(choice.messages), 'message')}"
        )
    if choice.cut:
        counts += (
            f"; {_count(len(choice.cut), 'session')} shown in part (the first "
            f"{MESSAGES_PER_SESSION} messages)"
        )
    if choice.frame.empty:
        note(f"{choice.tenant_id}: {counts}")
    else:
        newest = choice.frame["time"].max()
        note(f"{choice.tenant_id}: {counts}; newest message {newest:%Y-%m-%d %H:%M} UTC")
    if choice.reader.refused:
        note(f"note: {choice.reader.refused.summary()}")


def sessions(choice: ConversationsChoice) -> None:
    for session, rows in choice.frame.groupby("session"):
        note(f"{session}: {_count(len(rows), 'message')}, {rows['time'].min():%Y-%m-%d %H:%M} UTC")
        show(dataframes.conversation_view(rows))


def intents(choice: ConversationsChoice) -> None:
    if choice.frame.empty:
        note(f"{choice.tenant_id} has no messages yet")
        return
    show(dataframes.intent_summary(choice.frame))
    show(plots.plot_confidence(choice.frame, f"{choice.tenant_id}: classification confidence"))


def references(choice: ConversationsChoice) -> None:
    show(dataframes.trace_references(choice.reader, choice.messages))
