"""The served model: a weighted blend of component models' per-shopper standardised scores.

Each component's scores are z-normalised per shopper before blending so that scales (EASE weights,
kNN sums, ALS dot products) are comparable; the weights are tuned on a validation split of the
training data (see `recommender.evaluation.tune_blend`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.base import RecommenderModel, top_k_rows


def standardise(scores: np.ndarray) -> np.ndarray:
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.maximum(std, 1e-9)


class Hybrid(RecommenderModel):
    name = "hybrid"

    def __init__(
        self,
        components: dict[str, RecommenderModel] | None = None,
        weights: dict[str, float] | None = None,
        *,
        cold_source: str | None = None,
        cold_weight: float = 1.0,
        half_life_days: float | None = None,
        new_item_slots: int = 0,
        random_state: int | None = 0,
    ) -> None:
        super().__init__(random_state)
        self.components = dict(components or {})
        self.weights = dict(weights or {name: 1.0 for name in self.components})
        # Items nobody interacted with have no CF signal: they are scored by this component
        # (content) alone, so a new product can still reach the shoppers it suits.
        self.cold_source = cold_source
        self.cold_weight = cold_weight
        # How fast older events fade when a shopper's history is folded in (applied by the
        # caller that builds the shopper's row from timestamped events; None = no decay).
        self.half_life_days = half_life_days
        # Slots per page kept for the best-matching items nobody has touched yet. Blended scores
        # rarely let a new item into the top ten, and without exposure it never collects the
        # interactions CF needs; tuned on validation (`recommender.evaluation.tune_new_item_slots`).
        self.new_item_slots = int(new_item_slots)

    def _fit(self, user_items: sp.csr_matrix, *, show_progress: bool) -> None:
        self._row_cache: dict[str, np.ndarray] = {}
        # Cold-start path: a shopper with no interactions gets what most shoppers touch.
        counts = np.diff(user_items.tocsc().indptr).astype(np.float32)
        self.item_popularity = counts / max(float(counts.max(initial=0.0)), 1.0)
        for model in self.components.values():
            if not model.fitted:
                model.fit(user_items, show_progress=show_progress)

    def component_scores(self, user_items: sp.csr_matrix) -> dict[str, np.ndarray]:
        return {
            name: standardise(model.score(user_items))
            for name, model in self.components.items()
            if self.weights.get(name, 0.0) != 0.0
        }

    def _score(self, user_items: sp.csr_matrix) -> np.ndarray:
        total = np.zeros((user_items.shape[0], self.n_items), np.float32)
        for name, scores in self.component_scores(user_items).items():
            total += self.weights[name] * scores
        if self.cold_source and self.cold_source in self.components:
            cold = self.item_popularity == 0
            if cold.any():
                content = standardise(self.components[self.cold_source].score(user_items))
                total[:, cold] = self.cold_weight * content[:, cold]
        empty = np.diff(user_items.indptr) == 0
        if empty.any():
            total[empty] = self.item_popularity
        return total

    def score_row(self, cols: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """`_score` for one shopper, through the components' own `score_row`; the standardised
        scores of components that ignore the shopper are computed once and reused."""
        cols, vals = self._check_row(cols, vals)
        if not len(cols):
            return self.item_popularity.astype(np.float32, copy=True)
        total = np.zeros((1, self.n_items), np.float32)
        for name, model in self.components.items():
            weight = self.weights.get(name, 0.0)
            if weight != 0.0:
                total += weight * self._standardised_row(name, model, cols, vals)
        if self.cold_source and self.cold_source in self.components:
            cold = self._cached("cold", lambda: self.item_popularity == 0)
            if cold.any():
                model = self.components[self.cold_source]
                content = self._standardised_row(self.cold_source, model, cols, vals)
                total[:, cold] = self.cold_weight * content[:, cold]
        return total[0]

    def _standardised_row(
        self, name: str, model: RecommenderModel, cols: np.ndarray, vals: np.ndarray
    ) -> np.ndarray:
        # Kept 2-D (1, n_items) so the reductions run exactly as in `_score`.
        if not model.personalised:
            return self._cached(
                f"std:{name}", lambda: standardise(model.score_row(cols, vals)[None, :])
            )
        return standardise(model.score_row(cols, vals)[None, :])

    def _cached(self, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        cache: dict[str, np.ndarray] = self.__dict__.setdefault("_row_cache", {})
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    def rank(
        self, scores: np.ndarray, k: int, user_items: sp.csr_matrix
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k, then the best `new_item_slots` new items (by their content score) take the
        last places of the page unless they already made it on merit. Shoppers without history
        are left alone: with no profile, a content score says nothing about them.

        A reserved item keeps its own score, so a page's scores are sorted except where a
        reserved slot sits.
        """
        ids, vals = top_k_rows(scores, k)
        slots = min(self.new_item_slots, k)
        if slots <= 0 or self.cold_source is None or self.cold_weight <= 0:
            return ids, vals
        cold = self.item_popularity == 0
        if not cold.any():
            return ids, vals
        active = np.diff(user_items.indptr) > 0
        cold_ids, _ = top_k_rows(np.where(cold[None, :], scores, -np.inf), slots)
        cold_ids[~active] = -1
        missing = (cold_ids >= 0) & ~(cold_ids[:, :, None] == ids[:, None, :]).any(axis=2)
        for r in np.flatnonzero(missing.any(axis=1)):  # only rows whose page changes
            add = cold_ids[r][missing[r]]
            reserved = set(cold_ids[r][cold_ids[r] >= 0].tolist())
            page = [int(i) for i in ids[r] if i >= 0]
            surplus = len(page) + len(add) - k
            if surplus > 0:
                # Drop the weakest items that are not themselves reserved new arrivals.
                drop = [j for j in range(len(page) - 1, -1, -1) if page[j] not in reserved]
                gone = set(drop[:surplus])
                page = [p for j, p in enumerate(page) if j not in gone]
            page += [int(i) for i in add]
            ids[r] = -1
            vals[r] = -np.inf
            ids[r, : len(page)] = page
            vals[r, : len(page)] = scores[r, page]
        return ids, vals

    def _similar(self, itemid: int) -> np.ndarray:
        total = np.zeros(self.n_items, np.float32)
        for name, model in self.components.items():
            w = self.weights.get(name, 0.0)
            if w:
                sims = np.asarray(model._similar(itemid), np.float32)
                total += w * standardise(sims[None, :])[0]
        return total

    # Components are saved next to the hybrid's own file and referenced by name.
    def save(self, path: Path) -> Path:
        path = Path(path)
        target = path if path.suffix == ".npz" else path.with_suffix(".npz")
        target.parent.mkdir(parents=True, exist_ok=True)
        for name, model in self.components.items():
            model.save(target.with_name(f"{target.stem}.{name}.npz"))
        return super().save(target)

    def _params(self) -> dict[str, Any]:
        return {
            "weights": self.weights,
            "cold_source": self.cold_source,
            "cold_weight": self.cold_weight,
            "half_life_days": self.half_life_days,
            "new_item_slots": self.new_item_slots,
            "components": {n: m.name for n, m in self.components.items()},
        }

    def _arrays(self) -> dict[str, Any]:
        return {"item_popularity": self.item_popularity}

    def _restore(self, arrays: dict[str, Any], params: dict[str, Any]) -> None:
        self._row_cache = {}
        self.item_popularity = arrays["item_popularity"].astype(np.float32)
        self.weights = {k: float(v) for k, v in params["weights"].items()}
        self.cold_source = params.get("cold_source")
        self.cold_weight = float(params.get("cold_weight", 1.0))
        hl = params.get("half_life_days")
        self.half_life_days = float(hl) if hl else None
        self.new_item_slots = int(params.get("new_item_slots", 0))
        self.components = {}
        self._pending = dict(params["components"])

    def _load_parts(self, path: Path) -> None:
        for name in self._pending:
            self.components[name] = RecommenderModel.load(path.with_name(f"{path.stem}.{name}.npz"))
