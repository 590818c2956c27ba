"""What the actions share: database sessions, the recommender and the catalog lexicon.

Built once per action-server process on first use (never at import), from Settings.from_env().
Tests install their own Runtime with `set_runtime`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import sessionmaker

from actions.lexicon import Lexicon


@dataclass
class Runtime:
    session_factory: sessionmaker
    recommender: Any  # recommender.service.RecommenderService
    lexicon: Lexicon


_runtime: Runtime | None = None
_lock = threading.Lock()


def get_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        with _lock:
            if _runtime is None:
                _runtime = _build()
    return _runtime


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def _build() -> Runtime:
    from actions.lexicon import catalog_lexicon
    from recommender.service import RecommenderService
    from shopbot.config import Settings, load_dotenv
    from shopbot.db.engine import make_engine, make_session_factory

    load_dotenv()
    settings = Settings.from_env()
    factory = make_session_factory(make_engine(settings.database_url))
    return Runtime(
        session_factory=factory,
        recommender=RecommenderService(factory, settings.artifacts_dir),
        lexicon=catalog_lexicon(),
    )
