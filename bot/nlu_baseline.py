"""A seconds-long intent check over the NLU training data, for working on the data.

It cross-validates the model the pipeline serves for intents (character 1-2-gram TF-IDF with a
logistic regression, `bot.nlu.intent_classifier`) straight from the YAML, so the examples that
collide across intents show up in seconds. The full figure, entities included, is
`shopbot train nlu --report` (Rasa's own k-fold, about an hour on this machine).
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
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    from bot.nlu.intent_classifier import CharNgramFeatures, CharNgramIntentClassifier

    texts, intents = intent_examples(sorted((root / "data" / "nlu").glob("*.yml")))
    if len(set(intents)) < 2:
        raise ValueError("the NLU data needs at least two intents")
    labels = np.array(intents)
    config = CharNgramIntentClassifier.get_default_config()
    splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    predicted = np.empty(len(texts), dtype=object)
    for train, test in splitter.split(texts, labels):
        features = CharNgramFeatures.fit(
            [texts[i] for i in train], config["min_ngram"], config["max_ngram"]
        )
        model = LogisticRegression(C=config["C"], max_iter=config["max_iter"])
        model.fit(features.transform([texts[i] for i in train]), labels[train])
        predicted[test] = model.predict(features.transform([texts[i] for i in test]))
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
