"""Helpers shared by subcommands: settings, engine and a session factory built on demand."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from shopbot.config import Settings
from shopbot.db.engine import make_engine, make_session_factory
from shopbot.errors import CommandError


def open_database(*, migrate: bool = True) -> tuple[Settings, Engine, sessionmaker]:
    """Engine and session factory for DATABASE_URL, upgraded to the newest schema."""
    from shopbot.db.schema import init_db

    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    if migrate:
        try:
            init_db(engine)
        except OperationalError as exc:
            raise CommandError(f"cannot reach the database at {engine.url!r}: {exc.orig}") from None
    return settings, engine, make_session_factory(engine)
