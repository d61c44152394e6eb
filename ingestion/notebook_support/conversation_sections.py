"""The sections of the conversations notebook, each drawn for one tenant (see `pickers`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from ingestion.contracts import Message
from ingestion.notebook_support import dataframes, plots, table_inventory
from ingestion.notebook_support.readable_tables import show
from ingestion.notebook_support.workspace import Workspace
from ingestion.queries import TenantReader


@dataclass
class ConversationsChoice:
    """One tenant's sessions and messages, read once per pick."""

    workspace: Workspace
    tenant_id: str

    @cached_property
    def reader(self) -> TenantReader:
        """The tenant's reader: it also keeps the items it skipped as not the tenant's."""
        return self.workspace.reader(self.tenant_id)

    @cached_property
    def sessions(self) -> list[str]:
        return table_inventory.sessions(
            self.workspace.client, self.workspace.settings, self.tenant_id, self.reader.refused
        )

    @cached_property
    def messages(self) -> list[Message]:
        return [m for session in self.sessions for m in self.reader.session_messages(session)]

    @cached_property
    def frame(self) -> pd.DataFrame:
        return dataframes.messages_frame(self.messages)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def overview(choice: ConversationsChoice) -> None:
    """What the report covers, and how fresh it is: the newest message's time."""
    counts = f"{_count(len(choice.sessions), 'session')}, {_count(len(choice.messages), 'message')}"
    if choice.frame.empty:
        print(f"{choice.tenant_id}: {counts}")
    else:
        newest = choice.frame["time"].max()
        print(f"{choice.tenant_id}: {counts}; newest message {newest:%Y-%m-%d %H:%M} UTC")
    if choice.reader.refused:
        print(f"note: {choice.reader.refused.summary()}")


def sessions(choice: ConversationsChoice) -> None:
    for session, rows in choice.frame.groupby("session"):
        print(f"{session}: {_count(len(rows), 'message')}, {rows['time'].min():%Y-%m-%d %H:%M} UTC")
        show(dataframes.conversation_view(rows))


def intents(choice: ConversationsChoice) -> None:
    if choice.frame.empty:
        print(f"{choice.tenant_id} has no messages yet")
        return
    show(dataframes.intent_summary(choice.frame))
    show(plots.plot_confidence(choice.frame, f"{choice.tenant_id}: classification confidence"))


def references(choice: ConversationsChoice) -> None:
    show(dataframes.trace_references(choice.reader, choice.messages))
