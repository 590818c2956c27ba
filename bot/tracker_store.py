"""Rasa's SQL tracker store, configured from the environment, able to forget a conversation.

Why a subclass: when a shopper confirms 忘记我, the action server deletes their commerce data,
but the conversation history lives in Rasa's tracker store, which the action server cannot reach
safely (Rasa writes the tracker back after every turn, so rows deleted behind its back would be
re-inserted from memory). Here the deletion happens inside `save`: when the turn being saved
contains a successful `action_forget_me` (the action returns `AllSlotsReset` only after the
database deletion committed), every stored event of that sender, in every session, is deleted
and none of this turn's events are written. The next message starts a brand-new tracker.

Stored user messages are redacted (shopbot.db.privacy.redact): phone numbers, ID numbers,
e-mail and street addresses typed into chat never reach the tracker store. The turn in memory
keeps the original text; only what is written (and so what later turns and the HTTP API read
back) is masked.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, AllSlotsReset, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from shopbot.config import PROJECT_ROOT
from shopbot.db.privacy import redact

logger = logging.getLogger(__name__)

FORGET_ACTION = "action_forget_me"


def tracker_store_url() -> str:
    url = os.environ.get("TRACKER_STORE_URL")
    if url:
        return url
    var_dir = os.environ.get("SHOPBOT_VAR_DIR", str(PROJECT_ROOT / "var"))
    os.makedirs(var_dir, exist_ok=True)
    return f"sqlite:///{os.path.join(var_dir, 'tracker.db')}"


def _sqlite_write_ahead_log(engine: Any) -> None:
    """The embedded SQLite tracker commits after every turn: with the write-ahead log and
    synchronous=NORMAL a commit no longer waits for an fsync (a committed turn still survives a
    crash of Rasa; only a power cut can lose the last turns), and readers never block the writer."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    engine.dispose()  # connections opened while the tables were created get the pragmas too


def forget_requested(tracker: DialogueStateTracker, since: int = 0) -> bool:
    """True when events[since:] hold an action_forget_me that completed its deletion."""
    events = list(tracker.events)[since:]
    for i, event in enumerate(events):
        if isinstance(event, ActionExecuted) and event.action_name == FORGET_ACTION:
            for later in events[i + 1 :]:
                if isinstance(later, ActionExecuted):
                    break
                if isinstance(later, AllSlotsReset):
                    return True
    return False


def redact_data(value: Any) -> Any:
    """Every string inside a serialised event, redacted (text, parse_data, entity values ...)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_data(v) for v in value]
    return value


class RedactedEvent:
    """What SQLTrackerStore.save reads of an event (type_name, as_dict), with personal data
    masked; the event itself is left as it is for the rest of the turn."""

    def __init__(self, event: Event) -> None:
        self.event = event
        self.type_name = event.type_name

    def as_dict(self) -> dict[str, Any]:
        return redact_data(self.event.as_dict())


class ShopTrackerStore(SQLTrackerStore):
    def __init__(
        self, domain: Domain | None = None, host: str | None = None, **kwargs: Any
    ) -> None:
        # SQLTrackerStore takes a complete URL through `host` ("dialect://..."), see get_db_url.
        super().__init__(domain=domain, host=host or tracker_store_url(), **kwargs)
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (
            None,
            "",
            ":memory:",
        ):
            _sqlite_write_ahead_log(self.engine)

    async def save(self, tracker: DialogueStateTracker) -> None:
        with self.session_scope() as session:
            stored = self._event_query(
                session, tracker.sender_id, fetch_events_from_all_sessions=False
            ).count()
        if forget_requested(tracker, since=stored):
            removed = self.delete(tracker.sender_id)
            logger.info("forgot conversation %s (%d events)", tracker.sender_id, removed)
            return
        await super().save(tracker)

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Any]:
        """The events save() writes: what the user typed goes in redacted."""
        for event in super()._additional_events(session, tracker):
            yield RedactedEvent(event) if isinstance(event, UserUttered) else event

    def delete(self, sender_id: str) -> int:
        """Delete every stored event of `sender_id` across all sessions; returns the count."""
        with self.session_scope() as session:
            count = (
                session.query(self.SQLEvent)
                .filter(self.SQLEvent.sender_id == sender_id)
                .delete(synchronize_session=False)
            )
            session.commit()
        return int(count)
