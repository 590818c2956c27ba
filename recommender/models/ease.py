"""EASE (Steck 2019): a closed-form linear item-item model, B = I - P·diag(1/diag(P)), P = (XᵀX+λI)⁻¹.

Dense in items, so it is used when the catalogue fits (up to `max_items`); larger catalogues serve
item-kNN / ALS instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.base import RecommenderModel


class EASE(RecommenderModel):
    name = "ease"

    def __init__(
        self,
        l2: float = 200.0,
        *,
        dropout: float = 0.0,
        max_items: int = 25_000,
        random_state: int | None = 0,
    ) -> None:
        super().__init__(random_state)
        self.l2 = l2
        self.dropout = dropout
        self.max_items = max_items

    def _fit(self, user_items: sp.csr_matrix, *, show_progress: bool) -> None:
        n_items = user_items.shape[1]
        if n_items > self.max_items:
            raise ValueError(
                f"EASE needs a dense {n_items}x{n_items} matrix; use item_knn or als above "
                f"{self.max_items} items"
            )
        x = user_items.astype(np.float64)
        gram = np.asarray((x.T @ x).todense())
        # EDLAE (Steck 2020): training as a denoising autoencoder with input dropout p adds
        # p/(1-p)·G_ii to each diagonal entry — popular items are regularised more.
        extra = self.dropout / (1.0 - self.dropout) * np.diag(gram) if self.dropout else 0.0
        gram[np.diag_indices(n_items)] += self.l2 + extra
        p = np.linalg.inv(gram)
        b = -p / np.diag(p)[None, :]
        b[np.diag_indices(n_items)] = 0.0
        self.weights = b.astype(np.float32)

    def _score(self, user_items: sp.csr_matrix) -> np.ndarray:
        return np.asarray(user_items @ self.weights)

    def score_row(self, cols: np.ndarray, vals: np.ndarray) -> np.ndarray:
        # Rows of B scaled and added in ascending item order, as the sparse x dense product does.
        cols, vals = self._check_row(cols, vals)
        out = np.zeros(self.n_items, np.float32)
        for col, val in zip(cols.tolist(), vals, strict=True):
            out += val * self.weights[col]
        return out

    def _similar(self, itemid: int) -> np.ndarray:
        return self.weights[itemid].copy()

    def _params(self) -> dict[str, Any]:
        return {"l2": self.l2, "dropout": self.dropout, "max_items": self.max_items}

    def _arrays(self) -> dict[str, Any]:
        return {"weights": self.weights}

    def _restore(self, arrays: dict[str, Any], params: dict[str, Any]) -> None:
        self.l2 = float(params["l2"])
        self.max_items = int(params["max_items"])
        self.dropout = float(params.get("dropout", 0.0))
        self.weights = arrays["weights"].astype(np.float32)


class EDLAE(EASE):
    """EASE with emphasised denoising (dropout-derived, popularity-proportional regularisation)."""

    name = "edlae"

    def __init__(
        self,
        l2: float = 50.0,
        *,
        dropout: float = 0.25,
        max_items: int = 25_000,
        random_state: int | None = 0,
    ) -> None:
        super().__init__(l2, dropout=dropout, max_items=max_items, random_state=random_state)
