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

    chat = bsub.add_parser("chat", help="load a running stack through the REST webhook")
    chat.add_argument("--users", type=int, default=20, help="concurrent shoppers")
    chat.add_argument("--turns", type=int, default=6, help="turns per conversation")
    chat.add_argument(
        "--duration",
        type=float,
        default=0.0,
        help="keep repeating conversations for this many seconds (soak)",
    )
    chat.add_argument(
        "--think",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="mean pause between a shopper's turns (exponential); 0 = back-to-back (saturation)",
    )
    chat.add_argument("--url", default="http://127.0.0.1:5005", help="Rasa server base URL")
    chat.add_argument("--no-floor", action="store_true", help="skip the echo-bot floor")
    chat.add_argument(
        "--ladder",
        action="store_true",
        help="also measure the echo bot with a rasa-sdk action server (Rasa's action client, "
        "then shopbot's channel and client), then with shopbot's SQL tracker store too: what "
        "those parts of the architecture cost with no NLU model, policy or shop logic",
    )
    chat.add_argument(
        "--floor-port",
        type=int,
        default=5015,
        help="the echo floor's port (the ladder's bots take the next ones)",
    )
    chat.add_argument("--json", type=Path, default=None, metavar="OUT")
    chat.set_defaults(func=_chat)


def _recommender(args: argparse.Namespace) -> int:
    from recommender.bench import run_bench

    run_bench(args.items, args.users, args.json, random_state=args.seed)
    return 0


def _chat(args: argparse.Namespace) -> int:
    import os

    from shopbot.bench_chat import run_bench
    from shopbot.errors import CommandError

    token = (os.environ.get("SHOPBOT_REST_TOKENS") or "").split(",")[0] or None
    if token is None:
        raise CommandError("SHOPBOT_REST_TOKENS is not set; run `make run` first (it writes .env)")
    report = run_bench(
        base_url=args.url.rstrip("/"),
        token=token,
        users=args.users,
        turns=args.turns,
        duration=args.duration,
        floor=not args.no_floor,
        floor_port=args.floor_port,
        json_out=args.json,
        think=args.think,
        ladder=args.ladder,
    )
    # A floor that failed its turns measured nothing: that run's ratios mean nothing either.
    measured = [report["shopbot"], report.get("floor"), *report.get("ladder", [])]
    return 1 if any(r and r["errors"] for r in measured) else 0
