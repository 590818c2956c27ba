"""`shopbot db init | stats`."""

from __future__ import annotations

import argparse
import json

from shopbot.commands.common import open_database
from shopbot.db.engine import session_scope
from shopbot.db.repo import db_stats


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("db", help="database schema and statistics")
    dbsub = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    init = dbsub.add_parser("init", help="create or upgrade the schema (Alembic)")
    init.set_defaults(func=_init)
    stats = dbsub.add_parser("stats", help="counts of products, shoppers, events, offers")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(func=_stats)


def _init(args: argparse.Namespace) -> int:
    from shopbot.db.schema import current_revision

    _, engine, _ = open_database()
    print(f"database {engine.url!r} at revision {current_revision(engine)}")
    return 0


def _stats(args: argparse.Namespace) -> int:
    _, _, factory = open_database()
    with session_scope(factory) as session:
        stats = db_stats(session)
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
    else:
        for key, value in stats.items():
            if key != "category_names":
                print(f"{key:>14}: {value}")
    return 0
