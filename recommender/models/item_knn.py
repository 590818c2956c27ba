"""Item-based CF: cosine (or adjusted cosine) similarity, pruned to each item's top-K neighbours."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from recommender.base import RecommenderModel


def prune_top_k(sim: sp.csr_matrix, k: int, *, drop_diagonal: bool = True) -> sp.csr_matrix:
    """Keep the k largest entries in each row of a sparse similarity matrix (vectorised)."""
    sim = sp.csr_matrix(sim)
    if drop_diagonal:
        sim.setdiag(0)
    sim.eliminate_zeros()
    counts = np.diff(sim.indptr)
    if counts.max(initial=0) <= k:
        return sim
    rows = np.repeat(np.arange(sim.shape[0]), counts)
    # Sort by (row, -value): the first k per row survive.
    order = np.lexsort((-sim.data, rows))
    rank = np.arange(len(order)) - np.repeat(sim.indptr[:-1], counts)
    keep = order[rank < k]
    return sp.csr_matrix(
        (sim.data[keep], (rows[keep], sim.indices[keep])), shape=sim.shape, dtype=np.float32
    )


class ItemKNN(RecommenderModel):
    """score(u, i) = sum over items j the shopper touched of r_uj * sim(j, i)."""

    name = "item_knn"

    def __init__(
        self,
        k: int = 100,
        *,
        adjusted: bool = False,
        shrinkage: float = 10.0,
        random_state: int | None = 0,
    ) -> None:
        super().__init__(random_state)
        self.k = k
        self.adjusted = adjusted
        self.shrinkage = shrinkage

    def _fit(self, user_items: sp.csr_matrix, *, show_progress: bool) -> None:
        x = user_items.astype(np.float32)
        if self.adjusted:
            # Adjusted cosine: remove each shopper's mean so heavy users do not dominate.
            counts = np.maximum(np.diff(x.indptr), 1)
            means = np.asarray(x.sum(axis=1)).ravel() / counts
            x = x.copy()
            x.data -= np.repeat(means, np.diff(x.indptr)).astype(np.float32)
        binary = user_items.copy()
        binary.data[:] = 1.0
        sim = blocked_similarity(x, binary, k=self.k, shrinkage=self.shrinkage)
        # Only positive neighbours vote: a negative adjusted cosine means unrelated, not "anti".
        sim.data = np.maximum(sim.data, 0.0)
        sim.eliminate_zeros()
        self.similarity = sim
        self.similarity_t = self.similarity.T.tocsr()

    def _score(self, user_items: sp.csr_matrix) -> np.ndarray:
        return np.asarray((user_items @ self.similarity).todense())

    def score_row(self, cols: np.ndarray, vals: np.ndarray) -> np.ndarray:
        # The neighbour lists of the shopper's items, added in ascending item order in float32:
        # the sums of the sparse product in `_score`, without its two sparse constructors.
        cols, vals = self._check_row(cols, vals)
        sim = self.similarity
        out = np.zeros(self.n_items, np.float32)
        for col, val in zip(cols.tolist(), vals, strict=True):
            lo, hi = sim.indptr[col], sim.indptr[col + 1]
            out[sim.indices[lo:hi]] += val * sim.data[lo:hi]
        return out

    def _similar(self, itemid: int) -> np.ndarray:
        return np.asarray(self.similarity[itemid].todense()).ravel()

    def _params(self) -> dict[str, Any]:
        return {"k": self.k, "adjusted": self.adjusted, "shrinkage": self.shrinkage}

    def _arrays(self) -> dict[str, Any]:
        return {"similarity": self.similarity}

    def _restore(self, arrays: dict[str, Any], params: dict[str, Any]) -> None:
        self.k = int(params["k"])
        self.adjusted = bool(params["adjusted"])
        self.shrinkage = float(params["shrinkage"])
        self.similarity = arrays["similarity"].astype(np.float32)
        self.similarity_t = self.similarity.T.tocsr()


def blocked_similarity(
    x: sp.csr_matrix, binary: sp.csr_matrix, *, k: int, shrinkage: float, block: int = 2048
) -> sp.csr_matrix:
    """Shrunk cosine between item columns of `x`, top-k per item, computed in item blocks.

    Blocks bound memory: the full item x item co-occurrence at 100k items would not fit.
    """
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel()).astype(np.float32)
    inv = sp.diags(1.0 / np.maximum(norms, 1e-9)).astype(np.float32).tocsr()
    xt = x.T.tocsr()
    bt = binary.T.tocsr()
    xn = (x @ inv).tocsc()
    bn = binary.tocsc()
    parts = []
    n_items = x.shape[1]
    for start in range(0, n_items, block):
        stop = min(start + block, n_items)
        rows_x = inv[start:stop, start:stop] @ xt[start:stop]
        co = (rows_x @ xn).tocsr()
        if shrinkage > 0:
            support = (bt[start:stop] @ bn).tocsr()
            support.data = support.data / (support.data + shrinkage)
            co = co.multiply(support).tocsr()
        # Remove self-similarity on the block's diagonal.
        diag_rows = np.arange(stop - start)
        mask = sp.csr_matrix(
            (np.ones(stop - start, np.float32), (diag_rows, diag_rows + start)), shape=co.shape
        )
        co = co - co.multiply(mask)
        parts.append(prune_top_k(co, k, drop_diagonal=False))
    return sp.vstack(parts).tocsr().astype(np.float32)


def cosine_item_similarity(features: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Top-k cosine neighbours between rows of an item x feature matrix."""
    f = normalize(features.astype(np.float32), norm="l2", axis=1)
    return prune_top_k((f @ f.T).tocsr(), k)
