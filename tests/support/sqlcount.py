"""Counting the SQL statements a piece of code sends, to keep per-turn database work in check."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@dataclass
class StatementLog:
    """Statements sent to the database, one entry per cursor execution.

    An executemany (a batch of INSERTs flushed together) is one entry: it is one round trip on
    PostgreSQL's psycopg2 fast path and one prepared statement on SQLite.
    """

    statements: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.statements)

    def summary(self) -> str:
        """The statements' first words, for assertion messages: 'SELECT shoppers...'."""
        return "\n".join(" ".join(s.split())[:100] for s in self.statements)


@contextmanager
def count_statements(engine: Engine, *, all_threads: bool = False) -> Iterator[StatementLog]:
    """Record the statements `engine` executes inside the block.

    Only the calling thread's statements count unless `all_threads`: the recommender refreshes
    its catalogue snapshot from a background thread on the same engine, and those statements
    belong to no chat turn.
    """
    log = StatementLog()
    me = threading.get_ident()

    def before(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        if all_threads or threading.get_ident() == me:
            log.statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", before)
