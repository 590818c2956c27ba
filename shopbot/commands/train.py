"""`shopbot train recommender | rasa | nlu --report | nlu --baseline`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from shopbot.config import PROJECT_ROOT


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="train the recommender or the Rasa model")
    tsub = parser.add_subparsers(dest="train_target", metavar="TARGET", required=True)

    rec = tsub.add_parser("recommender", help="train recommender artifacts from the database")
    rec.add_argument("--no-progress", action="store_true")
    rec.set_defaults(func=_recommender)

    rasa = tsub.add_parser(
        "rasa", help="train the Rasa model (reused when its inputs are unchanged)"
    )
    rasa.add_argument(
        "--force", action="store_true", help="train even if a model for these inputs exists"
    )
    rasa.add_argument("--fast", action="store_true", help="fewer epochs (CI)")
    rasa.set_defaults(func=_rasa)

    nlu = tsub.add_parser("nlu", help="NLU quality: k-fold cross-validation report")
    nlu.add_argument(
        "--report", action="store_true", help="run cross-validation and write the report"
    )
    nlu.add_argument(
        "--baseline",
        action="store_true",
        help="seconds-long cross-validation of the served intent model (character-bigram "
        "logistic regression) straight from the YAML, errors listed (for working on the data; "
        "--report is Rasa's own k-fold of the whole pipeline)",
    )
    nlu.add_argument("--folds", type=int, default=5)
    nlu.add_argument("--out", type=Path, default=PROJECT_ROOT / "var" / "nlu-report")
    nlu.set_defaults(func=_nlu)


def _recommender(args: argparse.Namespace) -> int:
    from recommender.training import train_from_database
    from shopbot.commands.common import open_database

    settings, _, _ = open_database()
    summary = train_from_database(settings, progress=not args.no_progress)
    print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    return 0


def _rasa(args: argparse.Namespace) -> int:
    from bot.training import train_rasa

    print(f"model: {train_rasa(force=args.force, fast=args.fast)}")
    return 0


def _nlu(args: argparse.Namespace) -> int:
    from bot.training import nlu_report

    if args.baseline:
        from bot.nlu_baseline import intent_baseline

        result = intent_baseline(folds=args.folds)
        for error in result.pop("errors"):
            print(f"{error['intent']:>20} -> {error['predicted']:<20} {error['text']}")
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    if not args.report:
        from bot.training import train_rasa

        print(f"model: {train_rasa()}")
        return 0
    result = nlu_report(folds=args.folds, out_dir=args.out)
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0
