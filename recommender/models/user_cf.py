"""User-based CF with the classic Pearson correlation, computed with sparse products.

For shoppers u, v with co-interacted items I = I_u ∩ I_v (n = |I|):

    mean_u|I = Σ_I r_ui / n
    pearson(u, v) = Σ_I (r_ui - mean_u|I)(r_vi - mean_v|I)
                    / sqrt(Σ_I (r_ui - mean_u|I)² · Σ_I (r_vi - mean_v|I)²)

and, with Herlocker's significance weighting, w(u, v) = pearson(u, v) · min(n, γ) / γ.
Every Σ_I is one sparse product: with R the values and B the 0/1 pattern,
Σ_I r_ui = (R Bᵀ)[u, v], Σ_I r_ui r_vi = (R Rᵀ)[u, v], Σ_I r_ui² = (R∘R Bᵀ)[u, v], n = (B Bᵀ)[u, v].
Expanding the centred sums gives cov = P - S_u S_v / n and var_u = Q_u - S_u² / n.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.base import RecommenderModel


def pearson_rows(
    a: sp.csr_matrix, b: sp.csr_matrix, *, gamma: float = 50.0, min_overlap: int = 2
) -> sp.csr_matrix:
    """Significance-weighted Pearson between every row of `a` and every row of `b` (sparse).

    Pairs with fewer than `min_overlap` co-interacted items, or zero variance on the overlap,
    get no entry (correlation undefined).
    """
    a = sp.csr_matrix(a, dtype=np.float64)
    b = sp.csr_matrix(b, dtype=np.float64)
    a_bin = a.copy()
    a_bin.data[:] = 1.0
    b_bin = b.copy()
    b_bin.data[:] = 1.0
    bt = b.T.tocsc()
    bt_bin = b_bin.T.tocsc()
    bt_sq = b.multiply(b).T.tocsc()
    n = (a_bin @ bt_bin).tocsr()
    if n.nnz == 0:
        return sp.csr_matrix(n.shape, dtype=np.float32)
    # Each sum lives on (a subset of) n's pattern: read them all out at n's coordinates.
    s_u = (a @ bt_bin).tocsr()
    s_v = (a_bin @ bt).tocsr()
    q_u = (a.multiply(a).tocsr() @ bt_bin).tocsr()
    q_v = (a_bin @ bt_sq).tocsr()
    p = (a @ bt).tocsr()
    n.sort_indices()
    rows = np.repeat(np.arange(n.shape[0]), np.diff(n.indptr))
    keys = rows.astype(np.int64) * n.shape[1] + n.indices
    n_ = n.data
    su, sv, qu, qv, pp = (values_at(m, keys) for m in (s_u, s_v, q_u, q_v, p))
    cov = pp - su * sv / n_
    var_u = qu - su * su / n_
    var_v = qv - sv * sv / n_
    denom = np.sqrt(np.clip(var_u, 0, None) * np.clip(var_v, 0, None))
    ok = (n_ >= min_overlap) & (denom > 1e-12)
    corr = np.zeros_like(cov)
    corr[ok] = cov[ok] / denom[ok]
    corr = np.clip(corr, -1.0, 1.0) * (np.minimum(n_, gamma) / gamma)
    corr[~ok] = 0.0
    out = sp.csr_matrix((corr.astype(np.float32), n.indices.copy(), n.indptr.copy()), shape=n.shape)
    out.eliminate_zeros()
    return out


def values_at(m: sp.csr_matrix, keys: np.ndarray) -> np.ndarray:
    """Entries of `m` at flat (row * n_cols + col) positions; 0 where `m` stores nothing."""
    m = sp.csr_matrix(m)
    m.sort_indices()
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    m_keys = rows.astype(np.int64) * m.shape[1] + m.indices
    out = np.zeros(len(keys), np.float64)
    if not len(m_keys):
        return out
    pos = np.minimum(np.searchsorted(m_keys, keys), len(m_keys) - 1)
    found = m_keys[pos] == keys
    out[found] = m.data[pos[found]]
    return out


class UserPearsonCF(RecommenderModel):
    """Neighbourhood CF: a shopper's top-K Pearson neighbours vote for the items they liked.

    Ranking score (implicit data): score_i = Σ_{v∈N(u)} w_uv · r_vi / Σ_{v∈N(u)} |w_uv| over
    positively correlated neighbours. `predict` gives Resnick's classic mean-centred rating.
    """

    name = "user_pearson"

    def __init__(
        self,
        k: int = 50,
        *,
        gamma: float = 50.0,
        min_overlap: int = 2,
        random_state: int | None = 0,
    ) -> None:
        super().__init__(random_state)
        self.k = k
        self.gamma = gamma
        self.min_overlap = min_overlap

    def _fit(self, user_items: sp.csr_matrix, *, show_progress: bool) -> None:
        self.train = user_items.astype(np.float32).tocsr()
        counts = np.maximum(np.diff(self.train.indptr), 1)
        self.user_means = (np.asarray(self.train.sum(axis=1)).ravel() / counts).astype(np.float32)

    def neighbours(self, user_items: sp.csr_matrix) -> sp.csr_matrix:
        """Top-K positive Pearson weights from each given row to the training shoppers."""
        w = pearson_rows(user_items, self.train, gamma=self.gamma, min_overlap=self.min_overlap)
        w.data[w.data < 0] = 0.0
        w.eliminate_zeros()
        from recommender.models.item_knn import prune_top_k

        return prune_top_k(w, self.k, drop_diagonal=False)

    def _score(self, user_items: sp.csr_matrix) -> np.ndarray:
        w = self.neighbours(user_items)
        norm = np.asarray(abs(w).sum(axis=1)).ravel()
        votes = np.asarray((w @ self.train).todense())
        return votes / np.maximum(norm, 1e-9)[:, None]

    def predict(self, user_items: sp.csr_matrix, item_ids: np.ndarray) -> np.ndarray:
        """Resnick: r̂_ui = r̄_u + Σ_v w_uv (r_vi - r̄_v) / Σ_v |w_uv| over neighbours who rated i."""
        self._require_fitted()
        w = self.neighbours(user_items)
        counts = np.maximum(np.diff(user_items.indptr), 1)
        own_mean = np.asarray(user_items.sum(axis=1)).ravel() / counts
        cols = self.train[:, item_ids].tocsc()
        rated = cols.copy()
        rated.data[:] = 1.0
        centred = cols - rated.multiply(self.user_means[:, None]).tocsc()
        num = np.asarray((w @ centred).todense())
        den = np.asarray((abs(w) @ rated).todense())
        adj = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        return own_mean[:, None] + adj

    def _params(self) -> dict[str, Any]:
        return {"k": self.k, "gamma": self.gamma, "min_overlap": self.min_overlap}

    def _arrays(self) -> dict[str, Any]:
        return {"train": self.train}

    def _restore(self, arrays: dict[str, Any], params: dict[str, Any]) -> None:
        self.k = int(params["k"])
        self.gamma = float(params["gamma"])
        self.min_overlap = int(params["min_overlap"])
        self.train = arrays["train"].astype(np.float32)
        counts = np.maximum(np.diff(self.train.indptr), 1)
        self.user_means = (np.asarray(self.train.sum(axis=1)).ravel() / counts).astype(np.float32)
