"""`shopbot evaluate`: offline ranking metrics of every recommender model on a train/test split."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shopbot.errors import CommandError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "evaluate",
        help="precision/recall/F1/NDCG/MAP/hit rate/coverage@k of each recommender model",
        description=(
            "TRAIN/TEST are CSV files with header user,item,timestamp (extra columns such as "
            "event allowed; every row is an implicit positive). ITEMS: item,title,category,brand,price. "
            "Use --export-db DIR to write the demo store's split (held-out final week) first, or "
            "--movielens-100k DIR for the real MovieLens-100k (80/20 per-user split), "
            "--movielens-like DIR for a synthetic one of the same shape."
        ),
    )
    parser.add_argument("--train", type=Path, help="training interactions CSV")
    parser.add_argument("--test", type=Path, help="test interactions CSV")
    parser.add_argument("--items", type=Path, default=None, help="optional item metadata CSV")
    parser.add_argument(
        "--users",
        type=Path,
        default=None,
        help="optional user,age_band,gender CSV of consenting shoppers (new-shopper segments)",
    )
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--models", default=None, help="comma-separated subset (popularity and item_knn always run)"
    )
    parser.add_argument("--json", type=Path, default=None, metavar="OUT")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--export-db",
        type=Path,
        default=None,
        metavar="DIR",
        help="export train.csv/test.csv/items.csv from the database (split at the demo holdout)",
    )
    parser.add_argument(
        "--movielens-like",
        type=Path,
        default=None,
        metavar="DIR",
        help="write a synthetic MovieLens-100k-shaped 80/20 per-user split to DIR",
    )
    parser.add_argument("--movielens", type=Path, default=None, help="a real MovieLens u.data file")
    parser.add_argument(
        "--movielens-100k",
        type=Path,
        default=None,
        metavar="DIR",
        help=(
            "the real MovieLens-100k, fetched once into DIR/u.data from the copy RecBole's wheel "
            "ships on PyPI, then split 80/20 per user"
        ),
    )
    parser.add_argument("--taobao", type=Path, default=None, help="a Taobao UserBehavior.csv file")
    parser.set_defaults(func=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from recommender import data as rdata
    from recommender.evaluation import ALL_MODELS, evaluate, format_table, movielens_like_split

    if args.k < 1 or args.k > 100:
        raise CommandError("--k must be between 1 and 100")
    generated = None
    if args.movielens_100k is not None:
        from shopbot.datasets import fetch_movielens_100k

        args.movielens = fetch_movielens_100k(args.movielens_100k)
    if args.movielens_like is not None:
        train, test = movielens_like_split(args.seed)
        generated = args.movielens_like
    elif args.movielens is not None:
        train, test = rdata.split_random_per_user(
            rdata.load_movielens(args.movielens), random_state=args.seed
        )
        generated = args.movielens.parent / "split"
    elif args.taobao is not None:
        rows = rdata.load_taobao(args.taobao)
        cutoff = float(sorted(rows.timestamps)[int(len(rows) * 0.8)])
        train, test = rdata.split_by_time(rows, cutoff)
        generated = args.taobao.parent / "split"
    elif args.export_db is not None:
        from recommender.training import export_split
        from shopbot.commands.common import open_database

        settings, _, factory = open_database()
        paths = export_split(factory, args.export_db)
        print(f"exported {paths}", file=sys.stderr)
        args.train, args.test, args.items = paths["train"], paths["test"], paths["items"]
        args.users = paths["users"]
    if generated is not None:
        rdata.write_interactions_csv(generated / "train.csv", train)
        rdata.write_interactions_csv(generated / "test.csv", test)
        print(f"wrote {generated}/train.csv and test.csv", file=sys.stderr)
    else:
        if args.train is None or args.test is None:
            raise CommandError("give --train and --test (or --export-db / --movielens-like)")
        for path in (args.train, args.test, args.items, args.users):
            if path is not None and not path.exists():
                raise CommandError(f"no such file: {path}")
        try:
            train = rdata.load_interactions_csv(args.train)
            test = rdata.load_interactions_csv(args.test)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    if len(train) == 0 or len(test) == 0:
        raise CommandError("train and test must both have rows")
    items = rdata.load_items_csv(args.items) if args.items else None
    try:
        profiles = rdata.load_profiles_csv(args.users) if args.users else None
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    models = [m.strip() for m in args.models.split(",")] if args.models else None
    unknown = sorted(set(models or ()) - set(ALL_MODELS))
    if unknown:
        raise CommandError(f"unknown models {unknown}; choose from {', '.join(ALL_MODELS)}")
    report = evaluate(
        train,
        test,
        k=args.k,
        items=items,
        profiles=profiles,
        models=models,
        random_state=args.seed,
        log=lambda s: print(s, file=sys.stderr),
    )
    print(format_table(report))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0
