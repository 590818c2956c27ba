"""`shopbot bench recommender`: training time, warm single-request latency and memory at scale."""

from __future__ import annotations

import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.evaluation import EASE_MAX_ITEMS
from recommender.models import EASE, Hybrid, ItemKNN, Popularity


def synthetic_interactions(
    n_users: int, n_items: int, *, per_user: int = 20, random_state: int = 0
) -> sp.csr_matrix:
    """Shoppers pick items mostly from a few taste clusters, with long-tailed popularity."""
    rng = np.random.default_rng(random_state)
    n_clusters = max(10, n_items // 200)
    item_cluster = rng.integers(0, n_clusters, n_items)
    order = np.argsort(item_cluster, kind="stable")
    starts = np.searchsorted(item_cluster[order], np.arange(n_clusters))
    sizes = np.bincount(item_cluster, minlength=n_clusters)
    counts = np.clip(rng.poisson(per_user, n_users), 2, None)
    total = int(counts.sum())
    rows = np.repeat(np.arange(n_users), counts)
    home = rng.integers(0, n_clusters, n_users)[rows]
    wander = rng.random(total) < 0.2
    cluster = np.where(wander, rng.integers(0, n_clusters, total), home)
    # Zipf-like position inside the cluster: a few items are hits.
    pos = np.minimum(
        (rng.pareto(1.2, total) * 2).astype(np.int64), np.maximum(sizes[cluster] - 1, 0)
    )
    cols = order[np.minimum(starts[cluster] + pos, n_items - 1)]
    m = sp.csr_matrix((np.ones(total, np.float32), (rows, cols)), shape=(n_users, n_items))
    m.data = np.log1p(m.data).astype(np.float32)
    return m


def served_model(n_items: int) -> Hybrid:
    """The blend the assistant serves at this catalogue size (EASE only where it fits densely)."""
    parts: dict[str, Any] = {"item_knn": ItemKNN(k=100), "popularity": Popularity()}
    weights = {"item_knn": 1.0, "popularity": 0.2}
    if n_items <= EASE_MAX_ITEMS:
        parts["ease"] = EASE(l2=200.0)
        weights["ease"] = 1.0
    return Hybrid(parts, weights)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_bench(n_items: int, n_users: int, json_out: Path | None, *, random_state: int = 0) -> dict:
    if n_items < 10 or n_users < 10:
        raise ValueError("bench needs at least 10 items and 10 users")
    t0 = time.perf_counter()
    matrix = synthetic_interactions(n_users, n_items, random_state=random_state)
    gen_s = time.perf_counter() - t0
    rss0 = _rss_mb()
    model = served_model(n_items)
    t0 = time.perf_counter()
    model.fit(matrix)
    train_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = model.save(Path(tmp) / "model.npz")
        artifact_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 2**20
        _ = path
    rng = np.random.default_rng(random_state)
    users = rng.choice(n_users, size=min(1000, n_users), replace=False)
    for u in users[:20]:  # warm-up
        model.recommend(matrix[u], 10)
    lat = []
    for u in users:
        row = matrix[u]  # the fold-in row the service builds from the shopper's events
        t = time.perf_counter()
        model.recommend(row, 10)
        lat.append((time.perf_counter() - t) * 1000.0)
    lat_arr = np.asarray(lat)
    service = service_latency(model, matrix, random_state=random_state)
    result = {
        "items": n_items,
        "users": n_users,
        "interactions": int(matrix.nnz),
        "model": "hybrid(" + "+".join(model.components) + ")",
        "generate_seconds": round(gen_s, 3),
        "train_seconds": round(train_s, 3),
        "recommend_ms_p50": round(float(np.percentile(lat_arr, 50)), 3),
        "recommend_ms_p99": round(float(np.percentile(lat_arr, 99)), 3),
        "requests": len(lat),
        "peak_rss_mb": round(_rss_mb(), 1),
        "train_rss_growth_mb": round(_rss_mb() - rss0, 1),
        "artifact_mb": round(artifact_mb, 1),
        **service,
    }
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


CATEGORIES = ("手机", "耳机", "零食", "美妆", "女装", "男鞋", "家居", "母婴", "图书", "运动")
WORDS = ("无线", "轻薄", "经典", "新款", "加厚", "大容量", "防水", "便携", "礼盒", "限量")
# Event mix of the benchmark shoppers: mostly browsing, some carts and purchases, so the purchase
# ranker has both labels to learn from and the request path folds in every kind of event.
EVENT_TYPES = ("view", "click", "add_to_cart", "purchase")
EVENT_SHARES = (0.70, 0.12, 0.10, 0.08)


def service_latency(
    model: Hybrid, matrix: sp.csr_matrix, *, random_state: int = 0, shoppers: int = 1000
) -> dict[str, Any]:
    """Full `RecommenderService.recommend` latency against a SQLite database: read the shopper's
    events, fold in, blend content/popularity, rules, diversity, the purchase ranker over the
    candidate pool, stock re-check.

    Only `shoppers` shoppers get rows in the database: a request reads one shopper's own events,
    so the other shoppers' count does not change its cost (the model already holds them). Their
    typed, timestamped events also train the purchase ranker the service loads, as
    `shopbot train recommender` would. The service runs without its background catalogue
    refresh: nothing changes the catalogue here, and a refresh thread would only add noise.
    """
    from datetime import datetime, timedelta

    from sqlalchemy import insert

    from recommender.catalog import Catalog
    from recommender.content import ContentIndex
    from recommender.service import LATEST, RecommenderService
    from recommender.training import train_purchase_model
    from shopbot.db.engine import make_engine, make_session_factory
    from shopbot.db.models import Base, Event, Product, Shopper

    rng = np.random.default_rng(random_state)
    n_users, n_items = matrix.shape
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        Base.metadata.create_all(engine)
        t0 = time.perf_counter()
        now = datetime.utcnow()
        products = [
            {
                "id": f"i{i}",
                "title": f"品牌{i % 300}{WORDS[i % len(WORDS)]}{CATEGORIES[i % 10]}{i}",
                "category": CATEGORIES[i % 10],
                "brand": f"品牌{i % 300}",
                "price": float(10 + (i * 7919) % 990),
                "list_price": float(10 + (i * 7919) % 990) * 1.2,
                "attributes": {"color": ("黑色", "白色", "红色")[i % 3]},
                "tags": [],
                "stock": int(1 + i % 50),
                "created_at": now - timedelta(days=int(i % 400)),
            }
            for i in range(n_items)
        ]
        users = rng.choice(n_users, size=min(shoppers, n_users), replace=False)
        events = []
        # (shopper, product, type, dwell, ts): the same events as training reads them back.
        history: list[tuple[str, str, str, float, float]] = []
        for u in users:  # setup only
            cols = matrix[u].indices
            kinds = rng.choice(len(EVENT_TYPES), size=len(cols), p=EVENT_SHARES)
            for j, code in zip(cols, kinds, strict=True):
                kind = EVENT_TYPES[code]
                dwell = float(rng.integers(2, 120)) if kind in ("view", "click") else None
                ts = now - timedelta(hours=int(rng.integers(1, 500)))
                events.append(
                    {
                        "id": f"e{u}-{j}",
                        "shopper_id": f"u{u}",
                        "product_id": f"i{j}",
                        "type": kind,
                        "dwell_seconds": dwell,
                        "ts": ts,
                    }
                )
                history.append((f"u{u}", f"i{j}", kind, dwell or 0.0, ts.timestamp()))
        with engine.begin() as conn:
            conn.execute(insert(Product), products)
            conn.execute(insert(Shopper), [{"id": f"u{u}", "consent": False} for u in users])
            conn.execute(insert(Event), events)
        setup_s = time.perf_counter() - t0
        artifacts = Path(tmp) / "artifacts"
        version = artifacts / "bench"
        version.mkdir(parents=True)
        model.save(version / "model.npz")
        t0 = time.perf_counter()
        catalog = Catalog.from_records(products)
        history.sort(key=lambda e: e[4])
        ranker = train_purchase_model(
            catalog,
            history,
            {f"u{u}": False for u in users},
            ContentIndex(catalog),
            random_state=random_state,
        )
        if ranker is not None:
            ranker.save(version / "ranker.json")
        ranker_s = time.perf_counter() - t0
        (version / "items.json").write_text(json.dumps([f"i{i}" for i in range(n_items)]))
        (version / "manifest.json").write_text(
            json.dumps({"version": "bench", "model_file": "model.npz"})
        )
        (artifacts / LATEST).write_text("bench")
        t0 = time.perf_counter()
        svc = RecommenderService(
            make_session_factory(engine), artifacts, random_state=0, background_refresh=False
        )
        load_s = time.perf_counter() - t0
        ranker_used = svc.ranker is not None
        sample = users[:520]
        for u in sample[:20]:
            svc.recommend(f"u{u}", 10)
        lat = []
        for u in sample[20:]:
            t = time.perf_counter()
            svc.recommend(f"u{u}", 10)
            lat.append((time.perf_counter() - t) * 1000.0)
        svc.close()
        engine.dispose()
    arr = np.asarray(lat)
    return {
        "service_db_setup_seconds": round(setup_s, 2),
        "service_ranker_train_seconds": round(ranker_s, 2),
        "service_start_seconds": round(load_s, 2),
        "service_recommend_ms_p50": round(float(np.percentile(arr, 50)), 3),
        "service_recommend_ms_p99": round(float(np.percentile(arr, 99)), 3),
        "service_ranker": ranker_used,
        "service_background_refresh": False,
    }
