"""Alembic environment: runs on the connection `init_db` hands over, or on DATABASE_URL."""

from __future__ import annotations

from alembic import context

from shopbot.config import Settings
from shopbot.db.engine import make_engine
from shopbot.db.models import Base

target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER constraints in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(
        context.config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
    )
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
