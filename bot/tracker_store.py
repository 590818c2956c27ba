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

import itertools
import json
import logging
import os
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, AllSlotsReset, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.orm import sessionmaker

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


def _pooled_sqlite_engine(url: Any) -> Any:
    """The embedded tracker database, with connections kept open between turns.

    SQLAlchemy 1.4 gives a file SQLite database NullPool, so Rasa opened a new connection for the
    retrieve and again for the save of every turn, and closing the only connection of a database
    in write-ahead-log mode checkpoints the log: py-spy put a fifth of Rasa's time under chat load
    in those opens and closes. A small pool keeps them open; Rasa uses them from its event loop
    thread only, and the pool hands one connection to one session at a time.

    The write-ahead log with synchronous=NORMAL means a commit does not wait for an fsync (a
    committed turn survives a crash of Rasa; only a power cut can lose the last turns), and
    readers never block the writer.
    """
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import QueuePool

    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=2,
        max_overflow=4,
        connect_args={"check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return engine


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


# Set on a tracker object by this store: how many of its events are rows in the database.
_STORED = "_shopbot_stored_events"


def _stored(tracker: DialogueStateTracker) -> int | None:
    return getattr(tracker, _STORED, None)


def _remember_stored(tracker: DialogueStateTracker, count: int | None) -> None:
    setattr(tracker, _STORED, count)


class ShopTrackerStore(SQLTrackerStore):
    def __init__(
        self, domain: Domain | None = None, host: str | None = None, **kwargs: Any
    ) -> None:
        # SQLTrackerStore takes a complete URL through `host` ("dialect://..."), see get_db_url.
        super().__init__(domain=domain, host=host or tracker_store_url(), **kwargs)
        from bot import event_types

        # Each turn reads the whole conversation back into event objects.
        event_types.install()
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (
            None,
            "",
            ":memory:",
        ):
            url = self.engine.url
            self.engine.dispose()
            self.engine = _pooled_sqlite_engine(url)
            self.sessionmaker = sessionmaker(bind=self.engine)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        tracker = await super().retrieve(sender_id)
        if tracker is not None and tracker._max_event_history is None:
            # Every stored event of the latest session is in the tracker, so save() knows which
            # events are new without counting the rows again.
            _remember_stored(tracker, len(tracker.events))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Write the turn's new events.

        Rasa finds the new events by counting the stored ones, a query over the conversation
        with a sub-query for its latest session; a tracker this store read or wrote itself
        carries that count already. Turns of one conversation never overlap (the lock store
        serialises them, across processes too), so nothing else writes in between."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = _stored(tracker)
            if stored is None:
                stored = self._event_query(
                    session, tracker.sender_id, fetch_events_from_all_sessions=False
                ).count()
            if forget_requested(tracker, since=stored):
                removed = self._delete_events(session, tracker.sender_id)
                session.commit()
                # Whatever this tracker still holds must not be taken for stored rows.
                _remember_stored(tracker, None)
                logger.info("forgot conversation %s (%d events)", tracker.sender_id, removed)
                return
            rows = [
                self._row(tracker.sender_id, event)
                for event in itertools.islice(tracker.events, stored, None)
            ]
            if rows:
                # One executemany in event order; the ORM's unit of work per row was most of
                # the save's time.
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()
        _remember_stored(tracker, len(tracker.events))

    @staticmethod
    def _row(sender_id: str, event: Event) -> dict[str, Any]:
        # What the shopper typed is stored redacted; the turn in memory keeps the original.
        data = redact_data(event.as_dict()) if isinstance(event, UserUttered) else event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": ((data.get("parse_data") or {}).get("intent") or {}).get("name"),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }

    def _delete_events(self, session: Any, sender_id: str) -> int:
        return int(
            session.query(self.SQLEvent)
            .filter(self.SQLEvent.sender_id == sender_id)
            .delete(synchronize_session=False)
        )

    def delete(self, sender_id: str) -> int:
        """Delete every stored event of `sender_id` across all sessions; returns the count."""
        with self.session_scope() as session:
            count = self._delete_events(session, sender_id)
            session.commit()
        return count
