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

    def profile_scores(
        self, rows: Sequence[int] | np.ndarray, weights: Sequence[float] | np.ndarray
    ) -> np.ndarray:
        """Similarity to a weighted interest profile (e.g. events weighted by type and recency)."""
        if not len(rows):
            return np.zeros(len(self.catalog), np.float32)
        profile = self.profile_vector(rows, weights)
        # Sparse matrix x dense vector: one pass over the features, no sparse result to build.
        return np.asarray(self.features @ profile, np.float32).ravel()

    def profile_vector(
        self, rows: Sequence[int] | np.ndarray, weights: Sequence[float] | np.ndarray
    ) -> np.ndarray:
        """L2-normalised weighted sum of the rows' features, as a dense token vector.

        The arithmetic of `normalize(w @ features)` for a one-row `w` (float32 products summed
        item by item in ascending item order, the norm in float64), done on the CSR arrays: on
        the request path the sparse constructors cost more than the sums.
        """
        f = self.features
        items, inverse = np.unique(np.asarray(rows, np.int64), return_inverse=True)
        per_item = np.zeros(len(items), np.float32)
        np.add.at(per_item, inverse, np.asarray(weights, np.float32))
        positions, lengths = row_positions(f.indptr, items)
        tokens = f.indices[positions]
        profile = np.zeros(f.shape[1], np.float32)
        np.add.at(profile, tokens, np.repeat(per_item, lengths) * f.data[positions])
        _normalise_l2(profile, np.unique(tokens))
        return profile

    def query_vector(self, prefs: Mapping[str, Any]) -> sp.csr_matrix:
        """Stated preferences (category, brand, color, recipient, free text, ...) as a token vector."""
        idx, vals = self._query_tokens(prefs)
        vec = sp.csr_matrix(
            (vals, ([0] * len(idx), idx)), shape=(1, len(self.vocab)), dtype=np.float32
        )
        return normalize(vec, norm="l2", axis=1)

    def _query_tokens(self, prefs: Mapping[str, Any]) -> tuple[list[int], list[float]]:
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
        return idx, vals

    def query_scores(self, prefs: Mapping[str, Any]) -> np.ndarray:
        idx, vals = self._query_tokens(prefs)
        if not idx:
            return np.zeros(len(self.catalog), np.float32)
        # query_vector(prefs).toarray(), built dense: the sparse round trip costs more here.
        vec = np.zeros(len(self.vocab), np.float32)
        used = np.asarray(idx, np.int64)
        vec[used] = np.asarray(vals, np.float32)
        _normalise_l2(vec, used)
        return np.asarray(self.features @ vec, np.float32).ravel()

    def item_item(self, k: int = 50) -> sp.csr_matrix:
        from recommender.models.item_knn import prune_top_k

        return prune_top_k((self.features @ self.features.T).tocsr(), k)


def _normalise_l2(vec: np.ndarray, used: np.ndarray) -> None:
    """Scale a float32 vector, nonzero at `used` only, to unit L2 norm in place, with the
    arithmetic of sklearn's sparse `normalize`: float32 squares summed in float64, division in
    float64 rounded back to float32."""
    norm = float(np.sqrt(np.sum(np.square(vec[used]), dtype=np.float64)))
    if norm > 0:
        vec[used] = (vec[used].astype(np.float64) / norm).astype(np.float32)


def row_positions(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in a CSR matrix's indices/data of the given rows' entries, row after row, and
    each row's entry count."""
    rows = np.asarray(rows, np.int64)
    starts = indptr[rows].astype(np.int64)
    lengths = indptr[rows + 1].astype(np.int64) - starts
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return np.arange(int(lengths.sum()), dtype=np.int64) + offsets, lengths


def row_dots(
    features: sp.csr_matrix, rows_a: Sequence[int] | np.ndarray, rows_b: Sequence[int] | np.ndarray
) -> np.ndarray:
    """Dense len(rows_a) x len(rows_b) dot products of rows of a CSR matrix without duplicate
    entries: each entry the same sum, in the same order, as
    `(features[rows_a] @ features[rows_b].T).toarray()`, without building three sparse matrices
    for a few dozen rows (their constructors dominate at that size)."""
    a = np.asarray(rows_a, np.int64)
    b = np.asarray(rows_b, np.int64)
    out = np.zeros((len(a), len(b)), features.dtype)
    if not len(a) or not len(b):
        return out
    b_pos, b_len = row_positions(features.indptr, b)
    tokens, token_row = np.unique(features.indices[b_pos], return_inverse=True)
    # One extra all-zero row stands for every token that no row of b has.
    dense_b = np.zeros((len(tokens) + 1, len(b)), features.dtype)
    dense_b[token_row, np.repeat(np.arange(len(b)), b_len)] = features.data[b_pos]
    a_pos, a_len = row_positions(features.indptr, a)
    a_tok = features.indices[a_pos]
    loc = np.searchsorted(tokens, a_tok)
    found = loc < len(tokens)
    found[found] = tokens[loc[found]] == a_tok[found]
    loc[~found] = len(tokens)
    # Row r's i-th entry goes to slot [r, i]; shorter rows are padded with zero products.
    width = int(a_len.max(initial=0))
    rank = np.arange(len(a_pos)) - np.repeat(np.cumsum(a_len) - a_len, a_len)
    padded = np.zeros((len(a), width, len(b)), features.dtype)
    padded[np.repeat(np.arange(len(a)), a_len), rank] = features.data[a_pos, None] * dense_b[loc]
    # Entries added one after another, as the sparse product does (a sum over the axis could
    # pair them up, which rounds differently); adding a padding zero changes nothing.
    for i in range(width):
        out += padded[:, i]
    return out


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
