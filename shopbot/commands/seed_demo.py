"""`shopbot seed-demo`: fill the database with the deterministic demo store."""

from __future__ import annotations

import argparse
import json

from shopbot.commands.common import open_database
from shopbot.errors import CommandError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "seed-demo",
        help="fill an empty database with the demo store (catalog, shoppers, events, offers)",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--if-empty",
        action="store_true",
        help="do nothing when the database already holds store data (instead of failing)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--shoppers", type=int, help="number of shoppers (default: data/store/simulation.yml)"
    )
    parser.add_argument(
        "--products", type=int, help="number of products (default: data/store/simulation.yml)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=_seed)


def _seed(args: argparse.Namespace) -> int:
    from shopbot.demo.config import load_simulation_config
    from shopbot.demo.seed import StoreNotEmptyError, seed_demo

    config = load_simulation_config()
    for name in ("shoppers", "products"):
        value = getattr(args, name)
        if value is not None:
            if value < 1:
                raise CommandError(f"--{name} must be at least 1")
            config = config.scaled(**{name: value})
    # open_database() creates or upgrades the schema (Alembic) before anything is written.
    _, engine, factory = open_database()
    try:
        result = seed_demo(
            factory,
            seed=args.seed,
            if_empty=args.if_empty,
            progress=not args.no_progress,
            config=config,
        )
    except StoreNotEmptyError as exc:
        raise CommandError(str(exc)) from None
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif result["skipped"]:
        print("the database already holds store data; nothing seeded")
    else:
        print(
            f"seeded {result['products']} products, {result['shoppers']} shoppers, "
            f"{result['events']} events, {result['orders']} orders, {result['offers']} offers "
            f"in {result['seconds']}s (simulate {result['simulate_seconds']}s, "
            f"insert {result['insert_seconds']}s); held-out week from {result['holdout_start']}"
        )
    return 0
