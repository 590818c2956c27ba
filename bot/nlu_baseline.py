"""A seconds-long intent baseline over the NLU training data, for working on the data.

The real figure is `shopbot train nlu --report` (DIET, k-fold, about an hour on this machine).
Character 1-3-grams with a logistic regression, in stratified k-fold, track it closely enough to
find the examples that collide across intents before paying for an hour of cross-validation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from shopbot.config import PROJECT_ROOT

# [surface](entity) and [surface]{"entity": ...}: keep the surface the shopper typed.
_MARKUP = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def intent_examples(paths: Iterable[Path]) -> tuple[list[str], list[str]]:
    """(texts, intents) of every intent example in Rasa 3 YAML NLU files, markup removed."""
    texts: list[str] = []
    intents: list[str] = []
    for path in paths:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in document.get("nlu") or []:
            if "intent" not in block:
                continue
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    texts.append(_MARKUP.sub(r"\1", line[2:].strip()))
                    intents.append(str(block["intent"]))
    return texts, intents


def intent_baseline(
    *, folds: int = 5, root: Path = PROJECT_ROOT, random_state: int = 0
) -> dict[str, Any]:
    """Macro-F1, per-intent F1 and the misclassified examples of the char-n-gram baseline."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline

    texts, intents = intent_examples(sorted((root / "data" / "nlu").glob("*.yml")))
    if len(set(intents)) < 2:
        raise ValueError("the NLU data needs at least two intents")
    labels = np.array(intents)
    model = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
        LogisticRegression(C=20, max_iter=2000),
    )
    splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    predicted = cross_val_predict(model, texts, labels, cv=splitter)
    names = sorted(set(intents))
    per_intent = f1_score(labels, predicted, labels=names, average=None)
    return {
        "intent_macro_f1": round(float(f1_score(labels, predicted, average="macro")), 4),
        "examples": len(texts),
        "folds": folds,
        "per_intent_f1": {n: round(float(f), 4) for n, f in zip(names, per_intent, strict=True)},
        "errors": [
            {"text": t, "intent": a, "predicted": str(b)}
            for t, a, b in zip(texts, intents, predicted, strict=True)
            if a != b
        ],
    }
