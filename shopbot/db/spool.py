"""Behaviour events survive a database outage: what cannot be written now is spooled to disk
and replayed, in order and without duplicates, once the database answers again.

Why a local spool rather than retrying in the request: a shopper's chat turn must not wait on a
database that is down, and an event that only lived in memory would be lost on restart.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from shopbot.db import repo
from shopbot.db.models import Event, utcnow

log = logging.getLogger(__name__)


class EventSpool:
    def __init__(self, factory: sessionmaker, spool_dir: Path) -> None:
        self.factory = factory
        self.path = spool_dir / "events.jsonl"
        spool_dir.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _locked(self) -> Iterator[Any]:
        # One lock file shared by every process on the host (Rasa, actions, storefront).
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield lock
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def record(self, shopper_id: str, type: str, **fields: Any) -> str:
        """Write the event now if possible; otherwise spool it. Returns "stored" or "spooled".

        Invalid events (unknown type or product) still raise: spooling cannot make them valid.
        """
        fields.setdefault("event_id", repo.new_id())
        fields.setdefault("ts", utcnow())
        if self.pending():
            self.replay()
        try:
            with self.factory.begin() as session:
                repo.record_event(session, shopper_id, type, **fields)
            return "stored"
        except DBAPIError as exc:
            # Only "cannot reach the database" is spooled; a constraint violation is a real error.
            if not (isinstance(exc, OperationalError) or exc.connection_invalidated):
                raise
            log.warning("database unavailable, spooling %s event: %s", type, exc.__class__.__name__)
            self._append({"shopper_id": shopper_id, "type": type, **fields})
            return "spooled"

    def _append(self, row: dict[str, Any]) -> None:
        row = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
        with self._locked(), open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def pending(self) -> int:
        try:
            with open(self.path, encoding="utf-8") as fh:
                return sum(1 for line in fh if line.strip())
        except FileNotFoundError:
            return 0

    def replay(self) -> int:
        """Write every spooled event in one transaction; keep the spool if the database is still down."""
        with self._locked():
            try:
                lines = [
                    ln for ln in self.path.read_text(encoding="utf-8").splitlines() if ln.strip()
                ]
            except FileNotFoundError:
                return 0
            if not lines:
                return 0
            try:
                with self.factory.begin() as session:
                    for line in lines:
                        self._replay_row(session, json.loads(line))
            except DBAPIError as exc:
                if not (isinstance(exc, OperationalError) or exc.connection_invalidated):
                    raise
                return 0
            self.path.unlink()
            log.info("replayed %d spooled events", len(lines))
            return len(lines)

    @staticmethod
    def _replay_row(session: Session, row: dict[str, Any]) -> None:
        row["ts"] = datetime.fromisoformat(row["ts"])
        # Event ids were fixed when spooled, so a replay after a partial failure cannot insert
        # the same event twice. A second row with a known id is the storefront's dwell update
        # for a view (posted again when the shopper leaves the page): it sets the dwell time.
        existing = session.get(Event, row["event_id"])
        if existing is not None:
            if (
                row.get("dwell_seconds") is not None
                and existing.shopper_id == row["shopper_id"]
                and existing.type == row["type"]
            ):
                existing.dwell_seconds = row["dwell_seconds"]
            return
        try:
            repo.record_event(session, row.pop("shopper_id"), row.pop("type"), **row)
        except (repo.InvalidRequest, repo.NotFound) as exc:
            # E.g. a product deleted while the event waited: dropping it must not block the rest.
            log.warning("dropped spooled event %s: %s", row["event_id"], exc)
