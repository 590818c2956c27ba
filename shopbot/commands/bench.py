"""`shopbot bench recommender | chat`: performance targets are measured here, not in tests."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="benchmarks")
    bsub = parser.add_subparsers(dest="bench_target", metavar="TARGET", required=True)

    rec = bsub.add_parser("recommender", help="training time, recommend latency and memory")
    rec.add_argument("--items", type=int, default=2000)
    rec.add_argument("--users", type=int, default=2000)
    rec.add_argument("--seed", type=int, default=0)
    rec.add_argument("--json", type=Path, default=None, metavar="OUT")
    rec.set_defaults(func=_recommender)


def _recommender(args: argparse.Namespace) -> int:
    from recommender.bench import run_bench

    run_bench(args.items, args.users, args.json, random_state=args.seed)
    return 0
