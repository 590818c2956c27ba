"""Database fixtures: every data-layer test runs on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from shopbot.db.engine import make_engine, make_session_factory
from shopbot.db.schema import init_db

PG_URL = os.environ.get("SHOPBOT_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def _pg_unreachable_reason() -> str | None:
    probe = make_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}"
    finally:
        probe.dispose()


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[Engine]:
    reason = _pg_unreachable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the PostgreSQL tests)")
        pytest.skip(reason)
    engine = make_engine(PG_URL)
    yield engine
    engine.dispose()


def _pg_engine(admin: Engine) -> Iterator[Engine]:
    """A private schema per use, so parallel runs and developers never see each other's rows."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        init_db(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        yield from _sqlite_engine(tmp_path)
    else:
        yield from _pg_engine(request.getfixturevalue("pg_admin_engine"))


@pytest.fixture
def pg_engine(pg_admin_engine: Engine) -> Iterator[Engine]:
    yield from _pg_engine(pg_admin_engine)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    yield from _sqlite_engine(tmp_path)


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def sqlite_session_factory(sqlite_engine: Engine) -> sessionmaker:
    return make_session_factory(sqlite_engine)


@pytest.fixture
def sqlite_session(sqlite_session_factory: sessionmaker) -> Iterator[Session]:
    with sqlite_session_factory() as s:
        yield s
