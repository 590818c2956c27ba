"""`shopbot import catalog|events FILE` — all-or-nothing, idempotent upserts."""

from __future__ import annotations

import argparse
from pathlib import Path

from shopbot.commands.common import open_database
from shopbot.db.engine import session_scope
from shopbot.errors import CommandError
from shopbot.importers import ImportRowError, import_catalog, import_events


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("import", help="import a catalog or events file (CSV or JSON Lines)")
    isub = parser.add_subparsers(dest="import_kind", metavar="KIND", required=True)
    for kind, helptext in (("catalog", "products"), ("events", "behaviour events")):
        p = isub.add_parser(kind, help=f"import {helptext}")
        p.add_argument("file", type=Path)
        p.add_argument("--no-progress", action="store_true")
        p.set_defaults(func=_run, kind=kind)


def _run(args: argparse.Namespace) -> int:

    path: Path = args.file
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    _, _, factory = open_database()
    importer = import_catalog if args.kind == "catalog" else import_events
    try:
        with session_scope(factory) as session:
            result = importer(session, path, progress=not args.no_progress)
    except ImportRowError as exc:
        raise CommandError(f"{path}: {exc}; nothing was imported") from None
    print(
        f"imported {result.rows} {result.kind} rows from {path} "
        f"({result.inserted} new, {result.updated} updated) in {result.seconds:.1f}s"
    )
    return 0
