"""Logistic-regression purchase scoring with Platt calibration, stored as JSON (no pickle).

The same feature builder runs in training (events before a cutoff, label = purchase after it) and
at request time (all events so far), so the model sees at serving exactly what it learnt from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recommender.catalog import Catalog

FEATURES = (
    "shopper_log_events",
    "shopper_log_purchases",
    "shopper_consent",
    "item_log_popularity",
    "item_log_price",
    "item_discount",
    "item_freshness",
    "item_category_popularity",
    "beh_views",
    "beh_log_dwell",
    "beh_carts",
    "beh_purchased",
    "beh_recency",
    "beh_category_share",
    "beh_brand_share",
    "match_cf",
    "match_content",
    "match_price_ratio",
)

DAY = 86400.0


@dataclass
class ShopperState:
    """A shopper's behaviour folded from their events (catalogue indices), built per request."""

    items: np.ndarray  # catalogue index per event
    types: list[str]
    dwell: np.ndarray
    ts: np.ndarray  # seconds
    consent: bool = False
    now: float = 0.0
    _cache: dict[str, object] = field(default_factory=dict)

    @classmethod
    def empty(cls, now: float) -> ShopperState:
        return cls(np.empty(0, np.int64), [], np.empty(0), np.empty(0), False, now)


@dataclass
class ItemStats:
    """Catalogue-aligned item statistics computed once per catalogue load."""

    popularity: np.ndarray
    category_popularity: np.ndarray

    @classmethod
    def from_counts(cls, catalog: Catalog, counts: np.ndarray) -> ItemStats:
        counts = np.asarray(counts, np.float64)
        cat_totals: dict[str, float] = {}
        for c, n in zip(catalog.category, counts, strict=False):
            cat_totals[c] = cat_totals.get(c, 0.0) + n
        per_cat = np.asarray([cat_totals[c] for c in catalog.category], np.float64)
        return cls(np.log1p(counts), np.log1p(per_cat))


def build_features(
    catalog: Catalog,
    stats: ItemStats,
    state: ShopperState,
    candidates: np.ndarray,
    cf: np.ndarray,
    content: np.ndarray,
) -> np.ndarray:
    """(len(candidates), len(FEATURES)) matrix; cf/content are scores aligned with candidates."""
    cand = np.asarray(candidates, np.int64)
    n = len(cand)
    x = np.zeros((n, len(FEATURES)), np.float64)
    types = np.asarray(state.types, dtype=object)
    purchases = types == "purchase"
    x[:, 0] = np.log1p(len(types))
    x[:, 1] = np.log1p(purchases.sum())
    x[:, 2] = float(state.consent)
    x[:, 3] = stats.popularity[cand]
    x[:, 4] = np.log1p(catalog.price[cand])
    list_price = np.maximum(catalog.list_price[cand], 1e-9)
    x[:, 5] = np.clip(1.0 - catalog.price[cand] / list_price, 0.0, 1.0)  # catalog.discount()
    age_days = np.clip((state.now - catalog.created_ts[cand]) / DAY, 0, None)
    x[:, 6] = np.exp(-age_days / 30.0)
    x[:, 7] = stats.category_popularity[cand]
    if len(types):
        # Per-item counts over the shopper's few distinct items, read at the candidates: the
        # same sums as catalogue-long bincounts, without allocating five arrays of n_items.
        touched, slot = np.unique(state.items, return_inverse=True)
        width = len(touched)
        views = np.bincount(slot[(types == "view") | (types == "click")], minlength=width)
        carts = np.bincount(slot[types == "add_to_cart"], minlength=width)
        bought = np.bincount(slot[purchases], minlength=width)
        dwell = np.bincount(slot, weights=np.nan_to_num(state.dwell), minlength=width)
        last = np.full(width, -np.inf)
        np.maximum.at(last, slot, state.ts)
        at = np.minimum(np.searchsorted(touched, cand), width - 1)
        hit = touched[at] == cand
        x[:, 8] = np.log1p(np.where(hit, views[at], 0))
        x[:, 9] = np.log1p(np.where(hit, dwell[at], 0.0))
        x[:, 10] = np.log1p(np.where(hit, carts[at], 0))
        x[:, 11] = (np.where(hit, bought[at], 0) > 0).astype(float)
        last_c = np.where(hit, last[at], -np.inf)
        since = np.clip((state.now - last_c) / DAY, 0, None)
        x[:, 12] = np.where(np.isfinite(last_c), np.exp(-since / 3.0), 0.0)
        ev_cat = catalog.category[state.items]
        ev_brand = catalog.brand[state.items]
        cats, cat_counts = np.unique(ev_cat, return_counts=True)
        brands, brand_counts = np.unique(ev_brand, return_counts=True)
        cat_share = dict(zip(cats, cat_counts / len(types), strict=False))
        brand_share = dict(zip(brands, brand_counts / len(types), strict=False))
        x[:, 13] = [cat_share.get(c, 0.0) for c in catalog.category[cand]]
        x[:, 14] = [brand_share.get(b, 0.0) for b in catalog.brand[cand]]
        spend = (
            catalog.price[state.items[purchases]] if purchases.any() else catalog.price[state.items]
        )
        usual = float(np.median(spend)) if len(spend) else 0.0
        if usual > 0:
            x[:, 17] = np.abs(np.log((catalog.price[cand] + 1.0) / (usual + 1.0)))
    x[:, 15] = cf
    x[:, 16] = content
    return x


@dataclass
class PurchaseModel:
    """Standardise -> logistic regression -> Platt scaling on a held-out calibration split."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    platt_a: float = 1.0
    platt_b: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(
        cls, x: np.ndarray, y: np.ndarray, *, random_state: int = 0, c: float = 1.0
    ) -> PurchaseModel:
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import log_loss, roc_auc_score

        if len(np.unique(y)) < 2:
            raise ValueError("purchase model needs both purchases and non-purchases to learn from")
        rng = np.random.default_rng(random_state)
        perm = rng.permutation(len(y))
        cut = int(len(y) * 0.75)
        fit_idx, cal_idx = perm[:cut], perm[cut:]
        mean = x[fit_idx].mean(axis=0)
        scale = np.maximum(x[fit_idx].std(axis=0), 1e-6)
        z = (x - mean) / scale
        lr = LogisticRegression(C=c, max_iter=1000, class_weight="balanced")
        lr.fit(z[fit_idx], y[fit_idx])
        model = cls(mean, scale, lr.coef_[0].copy(), float(lr.intercept_[0]))
        # Platt scaling: a 1-D logistic fit of the label on the raw logit, on held-out rows, so
        # the balanced-class training does not inflate the probabilities.
        logit = model.logit(x[cal_idx])
        if len(np.unique(y[cal_idx])) == 2:
            platt = LogisticRegression(C=1e6, max_iter=1000)
            platt.fit(logit[:, None], y[cal_idx])
            model.platt_a = float(platt.coef_[0, 0])
            model.platt_b = float(platt.intercept_[0])
            p = model.predict(x[cal_idx])
            model.metrics = {
                "auc": float(roc_auc_score(y[cal_idx], p)),
                "log_loss": float(log_loss(y[cal_idx], np.clip(p, 1e-6, 1 - 1e-6))),
                "calibration_rows": float(len(cal_idx)),
                "base_rate": float(y.mean()),
            }
        return model

    def logit(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = self.platt_a * self.logit(x) + self.platt_b
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(FEATURES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "platt_a": self.platt_a,
            "platt_b": self.platt_b,
            "metrics": self.metrics,
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> PurchaseModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"{path}: purchase model features differ from this code's features")
        return cls(
            np.asarray(data["mean"]),
            np.asarray(data["scale"]),
            np.asarray(data["coef"]),
            float(data["intercept"]),
            float(data["platt_a"]),
            float(data["platt_b"]),
            dict(data.get("metrics", {})),
        )


def state_from_events(
    catalog: Catalog,
    items: Sequence[str],
    types: Sequence[str],
    dwell: Sequence[float | None],
    ts: Sequence[float],
    *,
    consent: bool,
    now: float,
) -> ShopperState:
    """Fold raw events into a ShopperState (events on products missing from the catalogue drop)."""
    idx = np.asarray([catalog.items.index.get(i, -1) if i else -1 for i in items], np.int64)
    keep = idx >= 0
    return ShopperState(
        idx[keep],
        [t for t, k in zip(types, keep, strict=False) if k],
        np.asarray([d or 0.0 for d in dwell], np.float64)[keep],
        np.asarray(ts, np.float64)[keep],
        consent,
        now,
    )
