"""Popularity and trending baselines: what everybody buys (optionally, lately)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.base import RecommenderModel


class Popularity(RecommenderModel):
    """Items ranked by how many shoppers interacted with them (the baseline every model must beat)."""

    name = "popularity"
    personalised = False

    def _fit(self, user_items: sp.csr_matrix, *, show_progress: bool) -> None:
        binary = user_items.copy()
        binary.data[:] = 1.0
        counts = np.asarray(binary.sum(axis=0)).ravel()
        self.item_scores = (counts / max(counts.max(), 1.0)).astype(np.float32)

    def _score(self, user_items: sp.csr_matrix) -> np.ndarray:
        return np.tile(self.item_scores, (user_items.shape[0], 1))

    def score_row(self, cols: np.ndarray, vals: np.ndarray) -> np.ndarray:
        self._check_row(cols, vals)
        return self.item_scores.copy()

    def _similar(self, itemid: int) -> np.ndarray:
        return self.item_scores.copy()

    def _arrays(self) -> dict[str, Any]:
        return {"item_scores": self.item_scores}

    def _restore(self, arrays: dict[str, Any], params: dict[str, Any]) -> None:
        self.item_scores = arrays["item_scores"].astype(np.float32)
