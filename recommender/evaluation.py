"""Offline evaluation: fit every model on TRAIN, rank for each TEST shopper, report the metrics.

Hyper-parameters (EASE λ, ALS factors/regularisation/alpha, kNN K) and the hybrid's blend weights
are tuned on a validation split carved out of TRAIN only — TEST is touched once, for the table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.base import RecommenderModel, top_k_rows
from recommender.catalog import Catalog
from recommender.content import ContentIndex
from recommender.data import (
    IdMap,
    Interactions,
    Rows,
    decay,
    event_values,
    split_by_time,
    split_random_per_user,
)
from recommender.metrics import ranking_metrics
from recommender.models import (
    ALS,
    EASE,
    EDLAE,
    ContentModel,
    Hybrid,
    ItemKNN,
    Popularity,
    UserPearsonCF,
)
from recommender.models.hybrid import standardise

SERVED = "hybrid"
ALL_MODELS = ("popularity", "item_knn", "user_pearson", "ease", "edlae", "als", "content", SERVED)
EASE_MAX_ITEMS = 25_000
# Relevance (validation NDCG) the hybrid may give up so that brand-new items get shown.
NEW_ITEM_NDCG_BUDGET = 0.01


@dataclass
class Split:
    train: sp.csr_matrix
    test: sp.csr_matrix  # binary relevance, train items removed
    users: IdMap
    items: IdMap
    cold_items: np.ndarray  # bool per item: no train interactions
    cold_users: np.ndarray  # bool per user: no train interactions
    last_ts: sp.csr_matrix | None = None  # latest train timestamp per (shopper, item)


def build_split(train: Rows, test: Rows, item_ids: Sequence[str] = ()) -> Split:
    users = IdMap.from_ids(list(train.users) + list(test.users))
    items = IdMap.from_ids(list(train.items) + list(item_ids) + list(test.items))
    tr, last_ts = implicit_matrix(train, users, items)
    te = Interactions.from_triples(
        test.users, test.items, user_map=users, item_map=items, binary=True
    ).matrix
    seen = tr.copy()
    seen.data[:] = 1.0
    te = (te - te.multiply(seen)).tocsr()
    te.eliminate_zeros()
    te.data[:] = 1.0
    cold_items = np.asarray((tr != 0).sum(axis=0)).ravel() == 0
    cold_users = np.diff(tr.indptr) == 0
    return Split(tr, te, users, items, cold_items, cold_users, last_ts)


def implicit_matrix(
    rows: Rows, users: IdMap, items: IdMap
) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
    """log1p(summed strengths) per (shopper, item), and the latest timestamp per pair."""
    inter = Interactions.from_triples(
        rows.users,
        rows.items,
        event_values(rows),
        timestamps=rows.timestamps,
        user_map=users,
        item_map=items,
    )
    m = inter.matrix
    m.data = np.log1p(np.maximum(m.data, 0)).astype(np.float32)
    m.eliminate_zeros()
    return m, inter.timestamps


@dataclass
class Validation:
    """A tuning split inside TRAIN: fit on `fit`, score against `val` (pairs new after `ref`)."""

    fit: sp.csr_matrix
    val: sp.csr_matrix
    last_ts: sp.csr_matrix | None
    ref: float


def temporal_validation(train: Rows, users: IdMap, items: IdMap, window: float) -> Validation:
    """Mirror a "predict the next period" test: the last `window` seconds of TRAIN validate."""
    cut = float(train.timestamps.max()) - window
    before, after = split_by_time(train, cut)
    fit, last_ts = implicit_matrix(before, users, items)
    val = Interactions.from_triples(
        after.users, after.items, user_map=users, item_map=items, binary=True
    ).matrix
    seen = fit.copy()
    seen.data[:] = 1.0
    val = (val - val.multiply(seen)).tocsr()
    val.eliminate_zeros()
    val.data[:] = 1.0
    return Validation(fit, val, last_ts, cut)


def item_features(items: IdMap, meta: dict[str, dict[str, object]]) -> sp.csr_matrix:
    records = [
        {"id": i, **{k: v for k, v in meta.get(i, {}).items()}, "stock": 1} for i in items.ids
    ]
    return ContentIndex(Catalog.from_records(records)).features


def recommend_all(
    model: RecommenderModel,
    train: sp.csr_matrix,
    k: int,
    users: np.ndarray,
    *,
    batch: int = 512,
    scoring: sp.csr_matrix | None = None,
    cold_pages: np.ndarray | None = None,
) -> np.ndarray:
    """Top-k per shopper, already-seen items excluded.

    Shoppers with no training rows get the popularity ranking, or their row of `cold_pages` where
    it has one (the served model's consented-segment path, see `segment_pages`).
    """
    out = np.full((train.shape[0], k), -1, np.int64)
    counts = np.diff(train.tocsc().indptr).astype(np.float32)
    popular, _ = top_k_rows(counts[None, :], k)
    for start in range(0, len(users), batch):
        rows = users[start : start + batch]
        x = train[rows]
        scores = model.score(x if scoring is None else scoring[rows])
        scores[x.nonzero()] = -np.inf
        ids, _ = model.rank(scores, k, x)
        empty = np.diff(x.indptr) == 0
        ids[empty] = popular[0]
        if cold_pages is not None:
            own = empty & (cold_pages[rows, 0] >= 0)
            ids[own] = cold_pages[rows[own], :k]
        out[rows] = ids
    return out


# How much of the overall popularity a segment's page keeps: small segments are noisy.
SEGMENT_POPULARITY_BLEND = 0.3


def segment_pages(
    train: sp.csr_matrix, users: IdMap, profiles: dict[str, dict[str, str]], k: int
) -> np.ndarray:
    """Pages for shoppers with no history but a consented profile: what consenting shoppers of
    the same age band and gender interacted with (weighted by event strength), blended with
    overall popularity. -1 rows: no profile, so the caller's popularity page stands.

    The same prior the service uses for a new shopper who consented (`_segment_scores`).
    """
    n_users, n_items = train.shape
    keys = np.full(n_users, -1, np.int64)
    segments: dict[tuple[str, str], int] = {}
    for raw, fields in profiles.items():
        u = users.get(raw)
        if u is None or u >= n_users or not (fields.get("age_band") and fields.get("gender")):
            continue
        keys[u] = segments.setdefault((fields["age_band"], fields["gender"]), len(segments))
    out = np.full((n_users, k), -1, np.int64)
    if not segments:
        return out
    member = keys >= 0
    onehot = sp.csr_matrix(
        (np.ones(int(member.sum()), np.float32), (keys[member], np.flatnonzero(member))),
        shape=(len(segments), n_users),
    )
    taste = np.asarray((onehot @ train).todense(), np.float32)
    taste /= np.maximum(taste.max(axis=1, keepdims=True), 1e-9)
    counts = np.diff(train.tocsc().indptr).astype(np.float32)
    prior = taste + SEGMENT_POPULARITY_BLEND * counts / max(float(counts.max(initial=0.0)), 1.0)
    pages, _ = top_k_rows(prior, k)
    out[member] = pages[keys[member]]
    return out


def _val_split(train: sp.csr_matrix, random_state: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Hold out ~15% of each shopper's training items (shoppers with >= 3 items) for tuning."""
    rng = np.random.default_rng(random_state)
    coo = train.tocoo()
    counts = np.diff(train.indptr)
    held = (rng.random(coo.nnz) < 0.15) & (counts[coo.row] >= 3)
    fit = sp.csr_matrix((coo.data[~held], (coo.row[~held], coo.col[~held])), shape=train.shape)
    val = sp.csr_matrix(
        (np.ones(held.sum(), np.float32), (coo.row[held], coo.col[held])), shape=train.shape
    )
    return fit, val


def _ndcg(
    model: RecommenderModel, fit: sp.csr_matrix, val: sp.csr_matrix, k: int, users: np.ndarray
) -> float:
    recs = recommend_all(model, fit, k, users)
    return ranking_metrics(recs, val, k, n_items=fit.shape[1], rows=users)["ndcg"]


def _best(
    make: Callable[[dict[str, Any]], RecommenderModel],
    grid: list[dict[str, Any]],
    fit: sp.csr_matrix,
    val: sp.csr_matrix,
    k: int,
    users: np.ndarray,
) -> tuple[dict[str, Any], float]:
    best: tuple[dict[str, Any], float] = (grid[0], -1.0)
    for params in grid:
        score = _ndcg(make(params).fit(fit), fit, val, k, users)
        if score > best[1]:
            best = (params, score)
    return best


def tune_and_fit(
    train: sp.csr_matrix,
    features: sp.csr_matrix | None,
    k: int,
    *,
    names: Sequence[str] = ALL_MODELS,
    random_state: int = 0,
    fast: bool = False,
    validation: Validation | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> tuple[dict[str, RecommenderModel], dict[str, dict[str, Any]]]:
    """Tune each model on a validation split of `train`, then refit on all of `train`.

    `fast` (used by `shopbot train recommender`) searches smaller grids to keep retraining
    within a minute; `shopbot evaluate` searches the full grids.
    """
    if validation is None:
        fit, val = _val_split(train, random_state)
        fit_ts, ref = None, 0.0
    else:
        fit, val, fit_ts, ref = validation.fit, validation.val, validation.last_ts, validation.ref
    rng = np.random.default_rng(random_state)
    val_users = np.flatnonzero(np.diff(val.indptr) > 0)
    cap = 1500 if fast else 3000
    if len(val_users) > cap:
        val_users = np.sort(rng.choice(val_users, cap, replace=False))
    n_items = train.shape[1]
    makers: dict[str, tuple[Callable[[dict[str, Any]], RecommenderModel], list[dict[str, Any]]]] = {
        "popularity": (lambda p: Popularity(), [{}]),
        "item_knn": (
            lambda p: ItemKNN(**p),
            [{"k": 50}, {"k": 200}, {"k": 200, "shrinkage": 50.0}],
        ),
        "user_pearson": (lambda p: UserPearsonCF(**p), [{"k": 50}]),
        "ease": (lambda p: EASE(**p), [{"l2": v} for v in (100.0, 300.0, 1000.0, 3000.0)]),
        "edlae": (
            lambda p: EDLAE(**p),
            [{"l2": v, "dropout": d} for v in (300.0, 1000.0) for d in (0.1, 0.25)],
        ),
        "als": (
            lambda p: ALS(iterations=10, random_state=random_state, **p),
            [
                {"factors": f, "regularization": r, "alpha": a}
                for f in (16, 32, 64)
                for r in (10.0, 50.0)
                for a in (2.0, 5.0)
            ],
        ),
    }
    if fast:
        makers["ease"] = (makers["ease"][0], [{"l2": v} for v in (300.0, 3000.0)])
        makers["edlae"] = (makers["edlae"][0], [{"l2": 300.0, "dropout": 0.25}])
        makers["als"] = (
            makers["als"][0],
            [{"factors": 32, "regularization": 10.0, "alpha": 2.0}],
        )
        makers["item_knn"] = (makers["item_knn"][0], [{"k": 200}])
    if features is not None:
        makers["content"] = (lambda p: ContentModel(features), [{}])
    models: dict[str, RecommenderModel] = {}
    info: dict[str, dict[str, Any]] = {}
    tuned: dict[str, RecommenderModel] = {}  # fitted on `fit`, reused for the hybrid's weights
    wanted = list(names)
    if SERVED in names:  # the served blend needs its components even if not asked to report them
        wanted += [n for n in makers if n not in wanted and n != "user_pearson"]
    for name in wanted:
        if name == SERVED or name not in makers:
            continue
        if name in ("ease", "edlae") and n_items > EASE_MAX_ITEMS:
            log(f"skip ease: {n_items} items > {EASE_MAX_ITEMS}")
            continue
        make, grid = makers[name]
        t0 = time.perf_counter()
        params, val_ndcg = (
            _best(make, grid, fit, val, k, val_users) if len(grid) > 1 else (grid[0], float("nan"))
        )
        tuned[name] = make(params).fit(fit)
        models[name] = make(params).fit(train)
        info[name] = {
            "params": params,
            "val_ndcg": val_ndcg,
            "fit_seconds": time.perf_counter() - t0,
        }
        log(f"{name}: {params} val NDCG@{k}={val_ndcg:.4f}")
    if SERVED in names:
        t0 = time.perf_counter()
        parts = [
            n
            for n in ("edlae", "ease", "item_knn", "als", "user_pearson", "content", "popularity")
            if n in tuned
        ]
        weights, half_life = tune_blend(
            tuned,
            parts,
            fit,
            val,
            k,
            val_users,
            last_ts=fit_ts,
            ref=ref,
            half_lives=(None, 7.0, 30.0) if fast else HALF_LIVES,
        )
        used: dict[str, RecommenderModel] = {n: models[n] for n in parts if weights[n] != 0.0}
        cold_weight = 0.0
        if "content" in models:
            used["content"] = models["content"]  # scores brand-new items (cold start)
            cold_weight = tune_cold_weight(
                tuned,
                weights,
                fit,
                val,
                k,
                val_users,
                random_state=random_state,
                scoring=decay(fit, fit_ts, ref, half_life),
                temporal=fit_ts is not None,
            )
            log(f"hybrid cold-item weight: {cold_weight:.3f}")
        new_item_slots = 0
        if "content" in tuned and cold_weight > 0:
            probe = Hybrid(
                {n: tuned[n] for n in used},
                {n: w for n, w in weights.items() if w != 0.0},
                cold_source="content",
                cold_weight=cold_weight,
                half_life_days=half_life,
            )
            probe.fit(fit)
            new_item_slots = tune_new_item_slots(
                probe, fit, val, k, val_users, scoring=decay(fit, fit_ts, ref, half_life)
            )
            log(f"hybrid new-arrival slots per page of {k}: {new_item_slots}")
        hybrid = Hybrid(
            used,
            {n: w for n, w in weights.items() if w != 0.0},
            cold_source="content" if "content" in models else None,
            cold_weight=cold_weight,
            half_life_days=half_life,
            new_item_slots=new_item_slots,
        )
        hybrid.fit(train)
        models[SERVED] = hybrid
        info[SERVED] = {
            "params": {
                "weights": weights,
                "cold_weight": cold_weight,
                "new_item_slots": hybrid.new_item_slots,
                "half_life_days": half_life,
            },
            "fit_seconds": time.perf_counter() - t0,
        }
        log(f"hybrid weights: {weights}, recency half-life (days): {half_life}")
    return models, info


HALF_LIVES: tuple[float | None, ...] = (None, 3.0, 7.0, 14.0, 30.0)


def tune_blend(
    tuned: dict[str, RecommenderModel],
    parts: Sequence[str],
    fit: sp.csr_matrix,
    val: sp.csr_matrix,
    k: int,
    users: np.ndarray,
    *,
    last_ts: sp.csr_matrix | None = None,
    ref: float = 0.0,
    half_lives: Sequence[float | None] = HALF_LIVES,
) -> tuple[dict[str, float], float | None]:
    """Blend weights (coordinate ascent) and the recency half-life of the folded-in history,
    by validation NDCG@k. Without timestamps, history is not decayed."""
    x = fit[users]
    seen = x.nonzero()
    truth = val[users]
    rows = np.arange(len(users))
    best_overall: tuple[float, dict[str, float], float | None] = (-1.0, {}, None)
    for half_life in half_lives if last_ts is not None else (None,):
        xs = decay(x, last_ts[users] if last_ts is not None else None, ref, half_life)
        scores = {n: standardise(tuned[n].score(xs)) for n in parts}

        def evaluate(w: dict[str, float], scores: dict[str, np.ndarray] = scores) -> float:
            total = sum(w[n] * scores[n] for n in parts if w[n])
            if isinstance(total, int):
                return -1.0
            total = np.asarray(total, np.float32)
            total[seen] = -np.inf
            ids, _ = top_k_rows(total, k)
            return ranking_metrics(ids, truth, k, n_items=fit.shape[1], rows=rows)["ndcg"]

        solo = {n: evaluate({m: float(m == n) for m in parts}) for n in parts}
        best_name = max(solo, key=lambda n: solo[n])
        w = {n: float(n == best_name) for n in parts}
        best = solo[best_name]
        for _ in range(2):
            for n in parts:
                if n == best_name:
                    continue
                for value in (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0):
                    trial = {**w, n: value}
                    score = evaluate(trial)
                    if score > best + 1e-5:
                        best, w = score, trial
        if best > best_overall[0] + 1e-5:
            best_overall = (best, w, half_life)
    return best_overall[1], best_overall[2]


def tune_cold_weight(
    tuned: dict[str, RecommenderModel],
    weights: dict[str, float],
    fit: sp.csr_matrix,
    val: sp.csr_matrix,
    k: int,
    users: np.ndarray,
    *,
    random_state: int = 0,
    scoring: sp.csr_matrix | None = None,
    temporal: bool = False,
) -> float:
    """How strongly content should score items nobody has touched, against the CF blend.

    Simulation on the validation split: 5% of items play "new" (scored by content alone, as the
    hybrid does for real new items) while their validation interactions stay in the truth, so
    new and known items compete in their natural proportion. New products need exposure to
    ever collect interactions, so this picks the largest weight that keeps validation NDCG within
    `NEW_ITEM_NDCG_BUDGET` (1%) of the best weight's, rather than the NDCG-optimal one (which is
    often 0: content alone is less precise than CF on known items).
    """
    rng = np.random.default_rng(random_state + 7)
    x = fit[users]
    seen = x.nonzero()
    x = x if scoring is None else scoring[users]
    truth = val[users]
    rows = np.arange(len(users))
    total = sum(w * standardise(tuned[n].score(x)) for n, w in weights.items() if w)
    if isinstance(total, int):
        return 0.0
    content = standardise(tuned["content"].score(x))
    # With a temporal split the items launched during the validation period are the real thing;
    # otherwise 5% of items play "new".
    fresh = np.diff(fit.tocsc().indptr) == 0
    fresh_hits = np.asarray(val[:, fresh].sum()) if fresh.any() else 0
    pseudo = fresh if temporal and fresh_hits > 0 else rng.random(fit.shape[1]) < 0.05
    scale = float(sum(abs(w) for w in weights.values()))
    results = []
    for factor in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0):
        trial = np.asarray(total, np.float32).copy()
        trial[:, pseudo] = factor * scale * content[:, pseudo]
        trial[seen] = -np.inf
        ids, _ = top_k_rows(trial, k)
        ndcg = ranking_metrics(ids, truth, k, n_items=fit.shape[1], rows=rows)["ndcg"]
        results.append((factor * scale, ndcg))
    top = max(n for _, n in results)
    return max(w for w, n in results if n >= (1.0 - NEW_ITEM_NDCG_BUDGET) * top)


NEW_ITEM_SLOT_CHOICES = (0, 1, 2, 3)


def tune_new_item_slots(
    hybrid: Hybrid,
    fit: sp.csr_matrix,
    val: sp.csr_matrix,
    k: int,
    users: np.ndarray,
    *,
    scoring: sp.csr_matrix | None = None,
) -> int:
    """How many places per page of k to keep for new items (see `Hybrid.rank`).

    `hybrid` is fitted on `fit`, so the items it has never seen are the ones that arrived during
    the validation period (or had no interactions before it). Picks the most slots whose
    validation NDCG stays within `NEW_ITEM_NDCG_BUDGET` of the best choice's: exposure for new
    products is worth a little precision, but not more.
    """
    cold = hybrid.item_popularity == 0
    if not cold.any() or val[:, cold].sum() == 0:
        return 0  # no new item was wanted during validation: no evidence for any share
    x = fit[users]
    scores = hybrid.score(x if scoring is None else scoring[users])
    scores[x.nonzero()] = -np.inf
    truth = val[users]
    rows = np.arange(len(users))
    saved = hybrid.new_item_slots
    results = []
    try:
        for slots in NEW_ITEM_SLOT_CHOICES:
            hybrid.new_item_slots = slots
            ids, _ = hybrid.rank(scores, k, x)
            ndcg = ranking_metrics(ids, truth, k, n_items=fit.shape[1], rows=rows)["ndcg"]
            results.append((slots, ndcg))
    finally:
        hybrid.new_item_slots = saved
    top = max(n for _, n in results)
    return max(s for s, n in results if n >= (1.0 - NEW_ITEM_NDCG_BUDGET) * top)


def evaluate(
    train: Rows,
    test: Rows,
    *,
    k: int = 10,
    items: dict[str, dict[str, object]] | None = None,
    profiles: dict[str, dict[str, str]] | None = None,
    models: Sequence[str] | None = None,
    random_state: int = 0,
    log: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    names = list(models or ALL_MODELS)
    for required in ("popularity", "item_knn"):
        if required not in names:
            names.insert(0, required)  # baselines are always in the table
    split = build_split(train, test, list(items or {}))
    features = item_features(split.items, items) if items else None
    if "content" in names and features is None:
        log("content: no --items file, content model skipped")
    # A test that lies wholly after the training rows ("predict next week") is tuned the same
    # way: the last stretch of TRAIN validates. Otherwise (per-user random split) a random
    # holdout of TRAIN does.
    validation = None
    train_end = float(train.timestamps.max())
    temporal = float(test.timestamps.min()) >= train_end - 1.0
    if temporal:
        span = float(test.timestamps.max() - test.timestamps.min())
        window = min(max(span, 86400.0), 0.25 * float(train_end - train.timestamps.min()))
        validation = temporal_validation(train, split.users, split.items, window)
        log(f"temporal split: tuning on the last {window / 86400:.1f} days of TRAIN")
    fitted, info = tune_and_fit(
        split.train,
        features,
        k,
        names=names,
        random_state=random_state,
        validation=validation,
        log=log,
    )
    users = np.flatnonzero(np.diff(split.test.indptr) > 0)
    # Cold-start slice: test pairs whose item or shopper has no training interactions.
    cold_mask = split.test.multiply(
        sp.csr_matrix(split.cold_items.astype(np.float32)[None, :])
    ).tocsr()
    cold_user_truth = (sp.diags(split.cold_users.astype(np.float32)) @ split.test).tocsr()
    cold_truth = ((cold_mask + cold_user_truth) > 0).astype(np.float32).tocsr()
    # New shoppers who consented get their segment's page from the served model, as in the
    # service; the other models keep the shared popularity page (the baseline to beat).
    served_cold = segment_pages(split.train, split.users, profiles, k) if profiles else None
    if served_cold is not None:
        log(f"consented profiles: {int((served_cold[:, 0] >= 0).sum())} shoppers with a segment")
    results = []
    for name, model in fitted.items():
        if name not in names:
            continue
        t0 = time.perf_counter()
        half_life = getattr(model, "half_life_days", None) if temporal else None
        scoring = decay(split.train, split.last_ts, train_end, half_life) if half_life else None
        recs = recommend_all(
            model,
            split.train,
            k,
            users,
            scoring=scoring,
            cold_pages=served_cold if name == SERVED else None,
        )
        elapsed = time.perf_counter() - t0
        metrics = ranking_metrics(recs, split.test, k, n_items=len(split.items), rows=users)
        cold = ranking_metrics(recs, cold_truth, k, n_items=len(split.items), rows=users)
        cold_i = ranking_metrics(recs, cold_mask, k, n_items=len(split.items), rows=users)
        cold_u = ranking_metrics(recs, cold_user_truth, k, n_items=len(split.items), rows=users)
        results.append(
            {
                "model": name,
                "k": k,
                "precision": metrics["precision"],
                "recall": metrics["recall"],
                "f1": metrics["f1"],
                "ndcg": metrics["ndcg"],
                "map": metrics["map"],
                "hit_rate": metrics["hit_rate"],
                "coverage": metrics["coverage"],
                "users": int(metrics["users"]),
                "cold_start": {
                    "recall": cold["recall"],
                    "ndcg": cold["ndcg"],
                    "hit_rate": cold["hit_rate"],
                    "users": int(cold["users"]),
                    "new_items_recall": cold_i["recall"],
                    "new_items_users": int(cold_i["users"]),
                    "new_shoppers_recall": cold_u["recall"],
                    "new_shoppers": int(cold_u["users"]),
                },
                "params": info.get(name, {}).get("params", {}),
                "fit_seconds": info.get(name, {}).get("fit_seconds"),
                "recommend_seconds": elapsed,
                "served": name == SERVED,
            }
        )
    purchase = None
    if train.events is not None and any(e == "purchase" for e in (test.events or [])):
        from recommender.training import evaluate_purchase_model

        catalog = Catalog.from_records(
            {"id": i, **(items or {}).get(i, {}), "stock": 1} for i in split.items.ids
        )
        purchase = evaluate_purchase_model(
            catalog, _events(train), _events(test), random_state=random_state
        )
        log(f"purchase model: {purchase}")
    return {
        "served_model": SERVED if SERVED in fitted else None,
        "purchase_model": purchase,
        "k": k,
        "train_rows": len(train),
        "test_rows": len(test),
        "users": len(split.users),
        "items": len(split.items),
        "cold_items": int(split.cold_items.sum()),
        "profiles": len(profiles or {}),
        "models": results,
    }


def _events(rows: Rows) -> list[tuple[str, str, str, float, float]]:
    events = rows.events or ["view"] * len(rows)
    return [
        (u, i, e or "view", 0.0, float(t))
        for u, i, e, t in zip(rows.users, rows.items, events, rows.timestamps, strict=True)
    ]


def format_table(report: dict[str, Any]) -> str:
    k = report["k"]
    head = f"{'model':<14}{'P@' + str(k):>8}{'R@' + str(k):>8}{'F1':>8}{'NDCG':>8}{'MAP':>8}{'HR':>8}{'cov':>8}{'coldR':>8}"
    lines = [head, "-" * len(head)]
    for r in report["models"]:
        mark = " *" if r["served"] else ""
        lines.append(
            f"{r['model']:<14}{r['precision']:>8.4f}{r['recall']:>8.4f}{r['f1']:>8.4f}{r['ndcg']:>8.4f}"
            f"{r['map']:>8.4f}{r['hit_rate']:>8.4f}{r['coverage']:>8.4f}{r['cold_start']['recall']:>8.4f}{mark}"
        )
    lines.append(f"* served by the assistant: {report['served_model']}")
    pm = report.get("purchase_model")
    if pm:
        lines.append(
            f"purchase model: AUC {pm['auc']:.4f} (popularity alone {pm['popularity_auc']:.4f}), "
            f"log-loss {pm['log_loss']:.4f} (base rate {pm['base_rate_log_loss']:.4f})"
        )
    return "\n".join(lines)


def synthetic_movielens(random_state: int = 0) -> Rows:
    """A MovieLens-100k-shaped dataset: 943 users, 1682 items, ~100k rows with 1-5 stars.

    The real file cannot be downloaded here, so this mimics its structure: long-tailed item
    popularity, a global low-rank taste (genres, eras) and local item-item structure (series and
    franchises watched together), since real catalogues have both and each model family catches
    a different part. Heavy-tailed activity per user (20 to 700 rows).
    """
    rng = np.random.default_rng(random_state)
    n_users, n_items, f = 943, 1682, 12
    pop = rng.zipf(1.6, n_items).astype(float)
    pop = np.log1p(np.minimum(pop, 500))
    u = rng.normal(0, 1, (n_users, f))
    v = rng.normal(0, 1, (n_items, f))
    taste = u @ v.T / np.sqrt(f)
    logits = 2.2 * taste + 0.8 * pop[None, :]
    activity = np.clip(rng.lognormal(4.45, 0.8, n_users).astype(int), 20, 700)
    # Franchises: consecutive runs of 1-6 items in a random order of the catalogue.
    order = rng.permutation(n_items)
    sizes = np.minimum(rng.geometric(0.35, n_items), 6)
    bounds = np.cumsum(sizes)
    bounds = bounds[bounds < n_items]
    franchise = np.empty(n_items, np.int64)
    franchise[order] = np.searchsorted(bounds, np.arange(n_items), side="right")
    members: dict[int, np.ndarray] = {
        int(g): np.flatnonzero(franchise == g) for g in np.unique(franchise)
    }
    users, items, ts, stars = [], [], [], []
    for n in range(n_users):  # data generation only, not a hot path
        p = np.exp(logits[n] - logits[n].max())
        p /= p.sum()
        want = min(activity[n], n_items // 2)
        base = rng.choice(n_items, size=max(1, int(want * 0.58)), replace=False, p=p)
        chosen = set(base.tolist())
        for i in base:
            if rng.random() < 0.6:
                mates = members[int(franchise[i])]
                chosen.update(rng.permutation(mates)[:2].tolist())
        picked = np.fromiter(chosen, np.int64)
        users += [str(n + 1)] * len(picked)
        items += [str(i + 1) for i in picked]
        ts += list(874_724_710 + rng.integers(0, 20_000_000, len(picked)))
        # Stars follow taste plus noise, in the 1..5 MovieLens shape (mean about 3.5).
        raw = 3.5 + 1.0 * taste[n, picked] + rng.normal(0, 0.7, len(picked))
        stars += list(np.clip(np.rint(raw), 1, 5))
    return Rows(users, items, np.asarray(ts, float), None, np.asarray(stars, np.float32))


def movielens_like_split(random_state: int = 0) -> tuple[Rows, Rows]:
    return split_random_per_user(
        synthetic_movielens(random_state), test_fraction=0.2, random_state=random_state
    )
