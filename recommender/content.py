"""Content-based matching: jieba-tokenized titles plus structured attributes, TF-IDF weighted.

Gives item-item content similarity (new-item cold start: a product nobody touched still has
content neighbours) and a query path for stated preferences (new-shopper cold start).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from recommender.catalog import Catalog

_WORD = re.compile(r"[\w\u4e00-\u9fff]+")
# Structured fields count more than single title words: a shared brand or category says more.
FIELD_WEIGHTS = {"cat": 3.0, "brand": 2.0, "band": 1.5, "color": 1.5, "material": 1.0, "tag": 1.5}
STOP = frozenset({"的", "款", "新款", "了", "和", "与", "及", "cm", "ml"})


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def tokenize(text: str) -> list[str]:
    """jieba words of a title/description, lower-cased, without punctuation or stop words."""
    if not text:
        return []
    words = _jieba().lcut(text)
    return [w.lower() for w in words if _WORD.fullmatch(w) and w.lower() not in STOP]


def item_tokens(catalog: Catalog, n: int, band: int) -> dict[str, float]:
    tokens: dict[str, float] = {}
    for w in tokenize(catalog.title[n]):
        tokens[f"w:{w}"] = tokens.get(f"w:{w}", 0.0) + 1.0
    tokens[f"cat:{catalog.category[n]}"] = FIELD_WEIGHTS["cat"]
    tokens[f"brand:{catalog.brand[n]}"] = FIELD_WEIGHTS["brand"]
    tokens[f"band:{catalog.category[n]}:{band}"] = FIELD_WEIGHTS["band"]
    for c in catalog.colors[n]:
        tokens[f"color:{c}"] = FIELD_WEIGHTS["color"]
    material = catalog.attributes[n].get("material")
    for m in [material] if isinstance(material, str) else list(material or []):
        tokens[f"material:{m}"] = FIELD_WEIGHTS["material"]
    for t in catalog.tags[n]:
        tokens[f"tag:{t}"] = FIELD_WEIGHTS["tag"]
        for w in tokenize(t):
            tokens[f"w:{w}"] = tokens.get(f"w:{w}", 0.0) + 0.5
    return tokens


class ContentIndex:
    """TF-IDF item x token matrix (rows L2-normalised) with a vocabulary for queries."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        bands = catalog.price_band() if len(catalog) else np.zeros(0, np.int64)
        self.bands = bands
        docs = [item_tokens(catalog, n, int(bands[n])) for n in range(len(catalog))]
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for n, doc in enumerate(docs):
            for tok, weight in doc.items():
                rows.append(n)
                cols.append(vocab.setdefault(tok, len(vocab)))
                vals.append(weight)
        self.vocab = vocab
        counts = sp.csr_matrix(
            (vals, (rows, cols)), shape=(len(catalog), len(vocab)), dtype=np.float32
        )
        df = np.bincount(cols, minlength=len(vocab)) if cols else np.zeros(0)
        self.idf = np.log((1.0 + len(catalog)) / (1.0 + df)).astype(np.float32) + 1.0
        self.features = normalize(counts @ sp.diags(self.idf), norm="l2", axis=1).tocsr()

    def similar(self, rows: Sequence[int]) -> np.ndarray:
        """Cosine content similarity of every item to the mean of `rows` (dense, n_items)."""
        if not len(rows):
            return np.zeros(len(self.catalog), np.float32)
        centroid = np.asarray(self.features[list(rows)].mean(axis=0)).ravel()
        return np.asarray(self.features @ centroid, np.float32).ravel()

    def profile_scores(self, rows: Sequence[int], weights: Sequence[float]) -> np.ndarray:
        """Similarity to a weighted interest profile (e.g. events weighted by type and recency)."""
        if not len(rows):
            return np.zeros(len(self.catalog), np.float32)
        w = sp.csr_matrix(
            (np.asarray(weights, np.float32), ([0] * len(rows), list(rows))),
            shape=(1, len(self.catalog)),
        )
        profile = normalize(w @ self.features, norm="l2", axis=1).toarray().ravel()
        # Sparse matrix x dense vector: one pass over the features, no sparse result to build.
        return np.asarray(self.features @ profile, np.float32).ravel()

    def query_vector(self, prefs: Mapping[str, Any]) -> sp.csr_matrix:
        """Stated preferences (category, brand, color, recipient, free text, ...) as a token vector."""
        tokens: dict[str, float] = {}

        def add(tok: str, weight: float) -> None:
            if tok in self.vocab:
                tokens[tok] = tokens.get(tok, 0.0) + weight

        for cat in _values(prefs.get("category")):
            add(f"cat:{cat}", FIELD_WEIGHTS["cat"])
        for brand in _values(prefs.get("brand")):
            add(f"brand:{brand}", FIELD_WEIGHTS["brand"])
        for color in _values(prefs.get("color")):
            add(f"color:{color}", FIELD_WEIGHTS["color"])
        for material in _values(prefs.get("material")):
            add(f"material:{material}", FIELD_WEIGHTS["material"])
        for text in _values(prefs.get("recipient")) + _values(prefs.get("query")):
            add(f"tag:{text}", FIELD_WEIGHTS["tag"])
            for w in tokenize(text):
                add(f"w:{w}", 1.0)
        idx = [self.vocab[t] for t in tokens]
        vals = [tokens[t] * float(self.idf[self.vocab[t]]) for t in tokens]
        vec = sp.csr_matrix(
            (vals, ([0] * len(idx), idx)), shape=(1, len(self.vocab)), dtype=np.float32
        )
        return normalize(vec, norm="l2", axis=1)

    def query_scores(self, prefs: Mapping[str, Any]) -> np.ndarray:
        vec = self.query_vector(prefs)
        if vec.nnz == 0:
            return np.zeros(len(self.catalog), np.float32)
        return np.asarray(self.features @ vec.toarray().ravel(), np.float32).ravel()

    def item_item(self, k: int = 50) -> sp.csr_matrix:
        from recommender.models.item_knn import prune_top_k

        return prune_top_k((self.features @ self.features.T).tocsr(), k)


def _values(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value if v]
    return [str(value)]


def price_fit(prices: np.ndarray, price_min: float | None, price_max: float | None) -> np.ndarray:
    """1 inside the stated budget, decaying smoothly outside it (soft preference, not a filter)."""
    out = np.ones(len(prices), np.float32)
    if price_max is not None and price_max > 0:
        over = np.clip(prices / price_max - 1.0, 0, None)
        out *= np.exp(-3.0 * over).astype(np.float32)
    if price_min is not None and price_min > 0:
        under = np.clip(1.0 - prices / price_min, 0, None)
        out *= np.exp(-3.0 * under).astype(np.float32)
    return out
