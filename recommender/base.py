"""The small model contract every recommender follows (fit / recommend / similar_items / save / load).

Models see only dense indices and CSR matrices; raw ids live in `recommender.data.IdMap` and are
translated by the service. A shopper is described by their row of interactions, so a model can
score a shopper it never saw in training (fold-in) — that is how new events take effect at once.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recommender.data import check_csr

FORMAT_VERSION = 1


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the k best entries of a 1-D array, best first, -inf excluded."""
    k = min(k, scores.shape[0])
    if k <= 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    part = np.argpartition(-scores, k - 1)[:k] if k < scores.shape[0] else np.arange(k)
    order = part[np.argsort(-scores[part], kind="stable")]
    keep = np.isfinite(scores[order])
    return order[keep].astype(np.int64), scores[order][keep].astype(np.float32)


def top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k of a 2-D array; rows with fewer finite entries are padded with -1 / -inf."""
    n_rows, n_cols = scores.shape
    k = min(k, n_cols)
    part = (
        np.argpartition(-scores, k - 1, axis=1)[:, :k]
        if k < n_cols
        else np.tile(np.arange(n_cols), (n_rows, 1))
    )
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    ids = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    ids = np.where(np.isfinite(vals), ids, -1)
    return ids.astype(np.int64), vals.astype(np.float32)


class RecommenderModel(ABC):
    """Base class: subclasses implement `_fit`, `_score` and (optionally) `_item_vectors`."""

    name: ClassVar[str] = "base"
    # False for models whose scores do not depend on the shopper (a blend can then reuse them).
    personalised: ClassVar[bool] = True
    n_items: int = 0

    def __init__(self, random_state: int | None = 0) -> None:
        self.random_state = random_state
        self.fitted = False

    # --- training ------------------------------------------------------------------------------

    def fit(self, user_items: sp.csr_matrix, *, show_progress: bool = False) -> RecommenderModel:
        user_items = check_csr(user_items)
        if user_items.shape[1] == 0:
            raise ValueError("user_items has no item columns")
        self.n_items = user_items.shape[1]
        self._fit(user_items, show_progress=show_progress)
        self.fitted = True
        return self

    @abstractmethod
    def _fit(self, user_items: sp.csr_matrix, *, show_progress: bool) -> None: ...

    # --- scoring -------------------------------------------------------------------------------

    @abstractmethod
    def _score(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Dense (n_rows, n_items) scores for the given shopper rows (fold-in)."""

    def score(self, user_items: sp.csr_matrix) -> np.ndarray:
        self._require_fitted()
        rows = check_csr(user_items, n_cols=self.n_items)
        return np.asarray(self._score(rows), dtype=np.float32)

    def score_row(self, cols: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """Scores (n_items,) of one shopper given as ascending, distinct item indices and their
        interaction weights: what `score` gives for that one-row CSR matrix. The service folds a
        shopper in on every request, where building and checking a CSR row costs more than the
        arithmetic; models override this with the same sums done on their own arrays."""
        cols, vals = self._check_row(cols, vals)
        indptr = np.asarray([0, len(cols)], np.int32)
        row = sp.csr_matrix((vals, cols.astype(np.int32), indptr), shape=(1, self.n_items))
        return self.score(row)[0]

    def _check_row(self, cols: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._require_fitted()
        cols = np.asarray(cols, np.int64)
        vals = np.asarray(vals, np.float32)
        if cols.ndim != 1 or cols.shape != vals.shape:
            raise ValueError("cols and vals must be 1-D arrays of one length")
        if len(cols) and (cols[0] < 0 or cols[-1] >= self.n_items or np.any(np.diff(cols) <= 0)):
            raise ValueError(f"cols must be ascending, distinct item indices below {self.n_items}")
        if not np.all(np.isfinite(vals)):
            raise ValueError("vals contains NaN or infinite values")
        return cols, vals

    def recommend(
        self,
        user_items: sp.csr_matrix,
        k: int = 10,
        *,
        filter_already_liked_items: bool = True,
        items: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k item indices and scores for each row of `user_items` (1 row -> 1-D arrays).

        `items` restricts ranking to a candidate subset of item indices.
        """
        self._require_fitted()
        rows = check_csr(user_items, n_cols=self.n_items)
        scores = self.score(rows)
        if filter_already_liked_items:
            scores[rows.nonzero()] = -np.inf
        if items is not None:
            allowed = np.full(self.n_items, False)
            allowed[np.asarray(items, np.int64)] = True
            scores[:, ~allowed] = -np.inf
        ids, vals = self.rank(scores, k, rows)
        if rows.shape[0] == 1:
            keep = ids[0] >= 0
            return ids[0][keep], vals[0][keep]
        return ids, vals

    def rank(
        self, scores: np.ndarray, k: int, user_items: sp.csr_matrix
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row-wise top-k of scores already masked with -inf; a model with a page policy (the
        hybrid's new-arrival slots) overrides this, and every ranking path goes through it."""
        return top_k_rows(scores, k)

    def similar_items(self, itemid: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items most similar to `itemid` (itself excluded), by the model's own item geometry."""
        self._require_fitted()
        if not 0 <= itemid < self.n_items:
            raise ValueError(f"item index {itemid} out of range 0..{self.n_items - 1}")
        sims = np.asarray(self._similar(itemid), np.float32).copy()
        sims[itemid] = -np.inf
        ids, vals = top_k(sims, k)
        return ids, vals

    def _similar(self, itemid: int) -> np.ndarray:
        # Default: items whose fold-in scores rise most when a shopper touches only `itemid`.
        row = sp.csr_matrix(([1.0], ([0], [itemid])), shape=(1, self.n_items), dtype=np.float32)
        return self._score(row)[0]

    # --- persistence (npz + JSON, never pickle) ------------------------------------------------

    def _arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _params(self) -> dict[str, Any]:
        return {}

    def _restore(self, arrays: dict[str, np.ndarray], params: dict[str, Any]) -> None:
        return None

    def save(self, path: Path) -> Path:
        self._require_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT_VERSION,
            "model": self.name,
            "n_items": self.n_items,
            "random_state": self.random_state,
            "params": self._params(),
        }
        arrays = self._arrays()
        flat: dict[str, np.ndarray] = {
            "__meta__": np.frombuffer(json.dumps(meta).encode(), np.uint8)
        }
        for key, value in arrays.items():
            if sp.issparse(value):
                csr = sp.csr_matrix(value)
                flat[f"{key}__csr_data"] = csr.data
                flat[f"{key}__csr_indices"] = csr.indices
                flat[f"{key}__csr_indptr"] = csr.indptr
                flat[f"{key}__csr_shape"] = np.asarray(csr.shape, np.int64)
            else:
                flat[key] = np.asarray(value)
        target = path if path.suffix == ".npz" else path.with_suffix(".npz")
        np.savez(target, **flat)  # type: ignore[arg-type]
        return target

    @classmethod
    def load(cls, path: Path) -> RecommenderModel:
        from recommender.models import MODEL_CLASSES

        with np.load(Path(path), allow_pickle=False) as npz:
            raw = {k: npz[k] for k in npz.files}
        meta = json.loads(raw.pop("__meta__").tobytes().decode())
        model_cls = MODEL_CLASSES[meta["model"]]
        if cls is not RecommenderModel and not issubclass(model_cls, cls):
            raise ValueError(f"{path} holds a {meta['model']} model, not {cls.name}")
        arrays: dict[str, Any] = {}
        for key in list(raw):
            if key.endswith("__csr_data"):
                base = key[: -len("__csr_data")]
                shape = tuple(int(x) for x in raw[f"{base}__csr_shape"])
                arrays[base] = sp.csr_matrix(
                    (raw[key], raw[f"{base}__csr_indices"], raw[f"{base}__csr_indptr"]), shape=shape
                )
            elif "__csr_" not in key:
                arrays[key] = raw[key]
        model = model_cls.__new__(model_cls)
        RecommenderModel.__init__(model, meta.get("random_state"))
        model.n_items = int(meta["n_items"])
        model._restore(arrays, meta.get("params", {}))
        model._load_parts(Path(path))
        model.fitted = True
        return model

    def _load_parts(self, path: Path) -> None:
        """Hook for models stored in several files (the hybrid's components)."""
        return None

    def _require_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError(f"{self.name} model is not fitted; call fit() first")
