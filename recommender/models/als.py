"""Implicit ALS (Hu, Koren & Volinsky 2008) with exact batched solves.

Confidence c_ui = 1 + alpha·r_ui, preference p_ui = 1 for observed pairs. Each half-step solves
(YᵀY + Yᵀ(C_u - I)Y + λI) x_u = Yᵀ C_u p_u for all shoppers; the per-shopper systems are batched
as stacked k x k solves over row blocks, never a Python loop over single users or items.
A new shopper is folded in with the same solve, which is how fresh events count without retraining.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.base import RecommenderModel


def _solve_side(
    c: sp.csr_matrix, fixed: np.ndarray, reg: float, *, max_cells: int = 4_000_000
) -> np.ndarray:
    """Least-squares factors for every row of confidence-minus-one matrix `c` given `fixed`."""
    n_rows = c.shape[0]
    f = fixed.shape[1]
    yty = fixed.T @ fixed + reg * np.eye(f)
    out = np.zeros((n_rows, f), np.float64)
    # Row blocks sized so that the per-nonzero outer products stay within max_cells floats.
    nnz_per_row = np.diff(c.indptr)
    budget = max(1, max_cells // (f * f))
    bounds = [0]
    cum = np.cumsum(nnz_per_row)
    while bounds[-1] < n_rows:
        base = cum[bounds[-1] - 1] if bounds[-1] else 0
        stop = int(np.searchsorted(cum, base + budget, side="right"))
        bounds.append(min(n_rows, max(stop, bounds[-1] + 1)))
    for start, stop in zip(bounds[:-1], bounds[1:], strict=False):
        cb = c[start:stop].tocoo()
        y = fixed[cb.col]
        # A_u = YᵀY + Σ_i (c_ui - 1) y_i y_iᵀ: the per-nonzero outer products, summed per row by
        # one sparse (rows x nonzeros) product.
        gather = sp.csr_matrix((cb.data, (cb.row, np.arange(cb.nnz))), shape=(stop - start, cb.nnz))
        outer = (y[:, :, None] * y[:, None, :]).reshape(cb.nnz, f * f)
        a = (gather @ outer).reshape(stop - start, f, f) + yty
        # b_u = Σ_i c_ui y_i (observed preference p_ui = 1, confidence 1 + (c_ui - 1))
        ones = sp.csr_matrix(
            (1.0 + cb.data, (cb.row, np.arange(cb.nnz))), shape=(stop - start, cb.nnz)
        )
        rhs = ones @ y
        out[start:stop] = np.linalg.solve(a, rhs[:, :, None])[:, :, 0]
    return out


class ALS(RecommenderModel):
    name = "als"

    def __init__(
        self,
        factors: int = 64,
        *,
        regularization: float = 0.05,
        alpha: float = 10.0,
        iterations: int = 12,
        random_state: int | None = 0,
    ) -> None:
        super().__init__(random_state)
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations

    def _fit(self, user_items: sp.csr_matrix, *, show_progress: bool) -> None:
        rng = np.random.default_rng(self.random_state)
        c = user_items.astype(np.float64).tocsr()
        c.data = self.alpha * c.data
        ct = c.T.tocsr()
        n_users, n_items = c.shape
        self.user_factors = rng.normal(0, 0.01, (n_users, self.factors))
        self.item_factors = rng.normal(0, 0.01, (n_items, self.factors))
        for _ in range(self.iterations):
            self.user_factors = _solve_side(c, self.item_factors, self.regularization)
            self.item_factors = _solve_side(ct, self.user_factors, self.regularization)
        self.user_factors = self.user_factors.astype(np.float32)
        self.item_factors = self.item_factors.astype(np.float32)
        self._yty: np.ndarray | None = None

    def fold_in(self, user_items: sp.csr_matrix) -> np.ndarray:
        c = user_items.astype(np.float64).tocsr()
        c.data = self.alpha * c.data
        if c.shape[0] == 1:
            # One shopper at request time: the same normal equations, as two small dense products.
            y = self.item_factors[c.indices].astype(np.float64)
            yty = self._gram()
            a = yty + (y * c.data[:, None]).T @ y + self.regularization * np.eye(self.factors)
            b = (y * (1.0 + c.data)[:, None]).sum(axis=0)
            return np.linalg.solve(a, b)[None, :].astype(np.float32)
        return _solve_side(c, self.item_factors.astype(np.float64), self.regularization).astype(
            np.float32
        )

    def _gram(self) -> np.ndarray:
        """YᵀY of the item factors, cached: it is the same for every request."""
        cached: np.ndarray | None = getattr(self, "_yty", None)
        if cached is None:
            f = self.item_factors.astype(np.float64)
            cached = f.T @ f
            self._yty = cached
        return cached

    def _score(self, user_items: sp.csr_matrix) -> np.ndarray:
        return self.fold_in(user_items) @ self.item_factors.T

    def _similar(self, itemid: int) -> np.ndarray:
        v = self.item_factors
        norms = np.linalg.norm(v, axis=1) + 1e-9
        return (v @ v[itemid]) / (norms * norms[itemid])

    def _params(self) -> dict[str, Any]:
        return {
            "factors": self.factors,
            "regularization": self.regularization,
            "alpha": self.alpha,
            "iterations": self.iterations,
        }

    def _arrays(self) -> dict[str, Any]:
        return {"item_factors": self.item_factors, "user_factors": self.user_factors}

    def _restore(self, arrays: dict[str, Any], params: dict[str, Any]) -> None:
        self.factors = int(params["factors"])
        self.regularization = float(params["regularization"])
        self.alpha = float(params["alpha"])
        self.iterations = int(params["iterations"])
        self.item_factors = arrays["item_factors"].astype(np.float32)
        self.user_factors = arrays["user_factors"].astype(np.float32)
