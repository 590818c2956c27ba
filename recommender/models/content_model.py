"""Content-based model over an item x feature matrix: shopper profile = mean of touched items."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from recommender.base import RecommenderModel


class ContentModel(RecommenderModel):
    """score(u, i) = cos(profile_u, f_i), profile_u = Σ_j r_uj f_j; works for items nobody touched."""

    name = "content"

    def __init__(self, features: sp.csr_matrix | None = None, *, random_state: int | None = 0):
        super().__init__(random_state)
        self.features = (
            normalize(sp.csr_matrix(features, dtype=np.float32), axis=1)
            if features is not None
            else None
        )

    def _fit(self, user_items: sp.csr_matrix, *, show_progress: bool) -> None:
        if self.features is None or self.features.shape[0] != user_items.shape[1]:
            raise ValueError("ContentModel needs one feature row per item column")

    def _score(self, user_items: sp.csr_matrix) -> np.ndarray:
        assert self.features is not None
        profile = normalize(user_items @ self.features, axis=1)
        # (sparse items x features) @ dense profiles: no sparse n_users x n_items result.
        return np.asarray(self.features @ profile.toarray().T).T

    def _similar(self, itemid: int) -> np.ndarray:
        assert self.features is not None
        return np.asarray((self.features @ self.features[itemid].T).todense()).ravel()

    def _arrays(self) -> dict[str, Any]:
        return {"features": self.features}

    def _restore(self, arrays: dict[str, Any], params: dict[str, Any]) -> None:
        self.features = arrays["features"].astype(np.float32)
