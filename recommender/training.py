"""`shopbot train recommender`: fit every model from the database and save versioned artifacts.

Artifacts: <artifacts_dir>/<version>/{manifest.json, items.json, model*.npz, ranker.json} and
<artifacts_dir>/LATEST naming the version the action server loads at start. npz files are read
with allow_pickle=False; everything else is JSON.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from recommender.catalog import Catalog
from recommender.content import ContentIndex
from recommender.data import EVENT_WEIGHTS, IdMap, Interactions
from recommender.evaluation import SERVED, Validation, tune_and_fit
from recommender.models import ItemKNN
from recommender.ranker import FEATURES, ItemStats, PurchaseModel, build_features, state_from_events
from recommender.service import LATEST
from shopbot.config import Settings
from shopbot.db.engine import make_engine, make_session_factory
from shopbot.db.models import Event, Product, Shopper

NEGATIVES_PER_SHOPPER = 10


class _Timer:
    def __init__(self, progress: bool, total: int) -> None:
        self.timings: dict[str, float] = {}
        self.bar: Any = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="train recommender", unit="stage")

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.bar is not None:
            self.bar.set_postfix_str(name)
        t0 = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - t0, 3)
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def load_history(
    factory: sessionmaker,
) -> tuple[Catalog, list[tuple[str, str, str, float, float]], dict[str, bool]]:
    """Catalogue, events (shopper, product, type, dwell, ts) oldest first, consent per shopper."""
    with factory() as session:
        products = session.scalars(select(Product).order_by(Product.id)).all()
        events = session.execute(
            select(Event.shopper_id, Event.product_id, Event.type, Event.dwell_seconds, Event.ts)
            .where(Event.product_id.is_not(None))
            .order_by(Event.ts)
        ).all()
        consent = dict(session.execute(select(Shopper.id, Shopper.consent)).all())
    rows = [(s, p, t, float(d or 0.0), ts.timestamp()) for s, p, t, d, ts in events]
    return Catalog.from_products(products), rows, {k: bool(v) for k, v in consent.items()}


def interaction_matrix(
    events: list[tuple[str, str, str, float, float]], items: IdMap, users: IdMap | None = None
) -> Interactions:
    """log1p of summed event weights per (shopper, item) — the same folding the service does."""
    weights = [EVENT_WEIGHTS.get(t, 0.0) for _, _, t, _, _ in events]
    inter = Interactions.from_triples(
        [e[0] for e in events], [e[1] for e in events], weights, user_map=users, item_map=items
    )
    m = inter.matrix
    m.data = np.log1p(np.maximum(m.data, 0.0)).astype(np.float32)
    m.eliminate_zeros()
    inter.matrix = m
    return inter


Ev = tuple[str, str, str, float, float]  # (shopper, product, type, dwell seconds, ts)


def purchase_rows(
    catalog: Catalog,
    before: list[Ev],
    after: list[Ev],
    consent: dict[str, bool],
    content: ContentIndex,
    *,
    now: float,
    random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows from `before` events; label = the shopper bought the item in `after`.

    Candidates per shopper: items they touched, items they later bought, and random items —
    the mix the ranker meets at request time (own history, CF/content pool, long tail).
    """
    after_buys: dict[str, set[str]] = {}
    for s, p, t, _, _ in after:
        if t == "purchase":
            after_buys.setdefault(s, set()).add(p)
    inter = interaction_matrix(before, catalog.items)
    if inter.matrix.nnz == 0:
        return np.zeros((0, len(FEATURES))), np.zeros(0, int)
    knn = ItemKNN(k=100).fit(inter.matrix)
    counts = np.asarray((inter.matrix > 0).sum(axis=0)).ravel()
    stats = ItemStats.from_counts(catalog, counts)
    by_shopper: dict[str, list[Ev]] = {}
    for e in before:
        by_shopper.setdefault(e[0], []).append(e)
    rng = np.random.default_rng(random_state)
    xs, ys = [], []
    for shopper, evs in by_shopper.items():  # one feature block per shopper (offline only)
        state = state_from_events(
            catalog,
            [e[1] for e in evs],
            [e[2] for e in evs],
            [e[3] for e in evs],
            [e[4] for e in evs],
            consent=consent.get(shopper, False),
            now=now,
        )
        touched = set(int(i) for i in state.items)
        bought = {
            catalog.items.index[p] for p in after_buys.get(shopper, ()) if p in catalog.items.index
        }
        size = min(NEGATIVES_PER_SHOPPER, len(catalog))
        randoms = set(rng.choice(len(catalog), size=size, replace=False).tolist())
        cand = np.asarray(sorted(touched | bought | randoms), np.int64)
        row = inter.matrix[inter.users.index[shopper]]
        cf = knn.score(row)[0][cand]
        cf = cf / max(float(cf.max(initial=0.0)), 1e-9)
        weights = [max(EVENT_WEIGHTS.get(t, 0), 0) + 1e-3 for t in state.types]
        prof = content.profile_scores(list(state.items), weights)[cand]
        xs.append(build_features(catalog, stats, state, cand, cf, prof))
        ys.append(np.isin(cand, list(bought)).astype(int))
    if not xs:
        return np.zeros((0, len(FEATURES))), np.zeros(0, int)
    return np.vstack(xs), np.concatenate(ys)


def train_purchase_model(
    catalog: Catalog,
    events: list[Ev],
    consent: dict[str, bool],
    content: ContentIndex,
    *,
    random_state: int = 0,
) -> PurchaseModel | None:
    """Features from events before a cutoff, label = bought within the week after it.

    The label window is a fixed week (the horizon the offer engine and the evaluation's held-out
    week use), so the calibrated probability means the same thing in training and in use.
    """
    if len(events) < 50:
        return None
    ts = np.asarray([e[4] for e in events])
    span = float(ts.max() - ts.min())
    week = 7 * 86400.0
    cutoff = float(ts.max() - week) if span >= 2 * week else float(np.quantile(ts, 0.8))
    before = [e for e in events if e[4] < cutoff]
    after = [e for e in events if e[4] >= cutoff]
    x, y = purchase_rows(
        catalog, before, after, consent, content, now=cutoff, random_state=random_state
    )
    if y.sum() < 5 or y.sum() == len(y):
        return None
    return PurchaseModel.fit(x, y, random_state=random_state)


def evaluate_purchase_model(
    catalog: Catalog, train: list[Ev], test: list[Ev], *, random_state: int = 0
) -> dict[str, float] | None:
    """Fit on TRAIN (internal cutoff), score TRAIN -> TEST purchases: AUC and log-loss."""
    from sklearn.metrics import log_loss, roc_auc_score

    content = ContentIndex(catalog)
    model = train_purchase_model(catalog, train, {}, content, random_state=random_state)
    if model is None:
        return None
    now = max(e[4] for e in train)
    x, y = purchase_rows(catalog, train, test, {}, content, now=now, random_state=random_state + 1)
    if len(np.unique(y)) < 2:
        return None
    p = np.clip(model.predict(x), 1e-6, 1 - 1e-6)
    pop = x[:, FEATURES.index("item_log_popularity")]
    return {
        "auc": float(roc_auc_score(y, p)),
        "log_loss": float(log_loss(y, p)),
        "popularity_auc": float(roc_auc_score(y, pop)),
        "base_rate_log_loss": float(log_loss(y, np.full(len(y), y.mean()))),
        "rows": float(len(y)),
        "positives": float(y.sum()),
    }


def _temporal_validation(events: list[Ev], inter: Interactions) -> Validation | None:
    ts = np.asarray([e[4] for e in events])
    week = 7 * 86400.0
    if float(ts.max() - ts.min()) < 3 * week:
        return None  # too short a history: random holdout instead
    cut = float(ts.max()) - week
    before = [e for e in events if e[4] < cut]
    after = [e for e in events if e[4] >= cut]
    fit = interaction_matrix(before, inter.items, inter.users)
    stamps = Interactions.from_triples(
        [e[0] for e in before],
        [e[1] for e in before],
        timestamps=[e[4] for e in before],
        user_map=inter.users,
        item_map=inter.items,
    ).timestamps
    val = Interactions.from_triples(
        [e[0] for e in after],
        [e[1] for e in after],
        user_map=inter.users,
        item_map=inter.items,
        binary=True,
    ).matrix
    seen = fit.matrix.copy()
    seen.data[:] = 1.0
    val = (val - val.multiply(seen)).tocsr()
    val.eliminate_zeros()
    val.data[:] = 1.0
    return Validation(fit.matrix, val, stamps, cut)


def train_from_database(
    settings: Settings, *, progress: bool = True, random_state: int = 0
) -> dict:
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    timer = _Timer(progress, total=5)
    try:
        with timer.stage("load"):
            catalog, events, consent = load_history(factory)
        if not events:
            raise ValueError("no events with products in the database; seed or import data first")
        with timer.stage("matrix"):
            inter = interaction_matrix(events, catalog.items)
            content = ContentIndex(catalog)
        with timer.stage("models"):
            # The assistant predicts what a shopper wants next, so tuning mirrors that: the
            # last week of history validates models fitted on what came before.
            validation = _temporal_validation(events, inter)
            models, info = tune_and_fit(
                inter.matrix,
                content.features,
                10,
                names=("popularity", "item_knn", "ease", "edlae", "als", "content", SERVED),
                random_state=random_state,
                fast=True,
                validation=validation,
            )
        with timer.stage("purchase_model"):
            ranker = train_purchase_model(
                catalog, events, consent, content, random_state=random_state
            )
        with timer.stage("save"):
            version = datetime.utcnow().strftime("%Y%m%dT%H%M%S")
            out = Path(settings.artifacts_dir) / version
            out.mkdir(parents=True, exist_ok=True)
            models[SERVED].save(out / "model.npz")
            (out / "items.json").write_text(json.dumps(inter.items.ids), encoding="utf-8")
            if ranker is not None:
                ranker.save(out / "ranker.json")
            manifest = {
                "version": version,
                "model_file": "model.npz",
                "served_model": SERVED,
                "items": len(inter.items),
                "shoppers": len(inter.users),
                "interactions": int(inter.matrix.nnz),
                "models": {
                    k: {"params": v.get("params"), "val_ndcg": v.get("val_ndcg")}
                    for k, v in info.items()
                },
                "purchase_model": ranker.metrics if ranker is not None else None,
                "purchase_features": list(FEATURES),
            }
            (out / "manifest.json").write_text(
                json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
            )
            tmp = Path(settings.artifacts_dir) / f".{LATEST}.tmp"
            tmp.write_text(version, encoding="utf-8")
            tmp.replace(Path(settings.artifacts_dir) / LATEST)  # atomic switch for readers
    finally:
        timer.close()
        engine.dispose()
    return {
        "version": version,
        "path": str(out),
        "timings": timer.timings,
        "total_seconds": round(sum(timer.timings.values()), 3),
        **{k: manifest[k] for k in ("items", "shoppers", "interactions", "purchase_model")},
        "hybrid_weights": info.get(SERVED, {}).get("params", {}).get("weights"),
        "hybrid_half_life_days": info.get(SERVED, {}).get("params", {}).get("half_life_days"),
        "hybrid_new_item_slots": info.get(SERVED, {}).get("params", {}).get("new_item_slots"),
    }


def export_split(
    factory: sessionmaker, out_dir: Path, *, cutoff: datetime | None = None
) -> dict[str, Path]:
    """Write train.csv / test.csv (user,item,timestamp,event), items.csv and users.csv (consented
    shoppers' age band and gender) from the database.

    The split is the demo store's held-out final week: `shopbot.demo.simulator.HOLDOUT_START`
    when the demo package provides it, else the last 7 days of events.
    """
    if cutoff is None:
        try:
            from shopbot.demo.simulator import HOLDOUT_START  # type: ignore[import-not-found]

            cutoff = HOLDOUT_START
        except ImportError:
            cutoff = None
    out_dir.mkdir(parents=True, exist_ok=True)
    catalog, events, _ = load_history(factory)
    if not events:
        raise ValueError("no events to export")
    cut = (
        cutoff.timestamp()
        if cutoff
        else max(e[4] for e in events) - timedelta(days=7).total_seconds()
    )
    paths = {
        "train": out_dir / "train.csv",
        "test": out_dir / "test.csv",
        "items": out_dir / "items.csv",
        "users": out_dir / "users.csv",
    }
    with (
        open(paths["train"], "w", newline="", encoding="utf-8") as tr,
        open(paths["test"], "w", newline="", encoding="utf-8") as te,
    ):
        wt, we = csv.writer(tr), csv.writer(te)
        for w in (wt, we):
            w.writerow(["user", "item", "timestamp", "event"])
        for s, p, t, _, when in events:
            if t == "remove_from_cart":
                continue
            (wt if when < cut else we).writerow([s, p, int(when), t])
    with open(paths["items"], "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["item", "title", "category", "brand", "price"])
        for n, pid in enumerate(catalog.items.ids):
            w.writerow(
                [pid, catalog.title[n], catalog.category[n], catalog.brand[n], catalog.price[n]]
            )
    # Segment fields of consenting shoppers only: without consent a profile is not used anywhere.
    with factory() as session:
        profiles = session.execute(
            select(Shopper.id, Shopper.age_band, Shopper.gender)
            .where(Shopper.consent.is_(True))
            .order_by(Shopper.id)
        ).all()
    with open(paths["users"], "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["user", "age_band", "gender"])
        for sid, age, gender in profiles:
            w.writerow([sid, age or "", gender or ""])
    return paths


def latest_artifacts(settings: Settings) -> Path | None:
    """The artifact folder LATEST names, if it holds a manifest; None means "train first"."""
    latest = Path(settings.artifacts_dir) / LATEST
    if not latest.exists():
        return None
    version_dir = Path(settings.artifacts_dir) / latest.read_text(encoding="utf-8").strip()
    return version_dir if (version_dir / "manifest.json").exists() else None
