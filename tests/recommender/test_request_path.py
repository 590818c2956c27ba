"""The request path's shortcuts give what the general code they stand in for gives.

Every recommendation request folds the shopper in, scores the catalogue and picks a page; at 100k
items the sparse constructors, object-array set tests and ORM loading those steps used to go
through cost more than the arithmetic, so the service does the same sums on plain arrays. These
tests pin each shortcut to the code it replaces.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import normalize
from sqlalchemy.engine import Engine

from recommender.base import RecommenderModel
from recommender.catalog import Catalog
from recommender.content import ContentIndex, row_dots
from recommender.models import ALS, EASE, EDLAE, ContentModel, Hybrid, ItemKNN, Popularity
from recommender.ranker import ItemStats, ShopperState, build_features
from recommender.service import RECENT_EVENTS, RecommenderService, _top_pool
from shopbot.db import repo
from shopbot.db.engine import make_session_factory, session_scope
from shopbot.db.models import Product


def interactions(n_users: int = 60, n_items: int = 40, seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < 0.15) * (1.0 + rng.integers(0, 4, (n_users, n_items)))
    return sp.csr_matrix(dense.astype(np.float32))


def served_models(n_items: int) -> list[RecommenderModel]:
    features = sp.csr_matrix(np.eye(n_items, dtype=np.float32)[:, : n_items // 2] + 0.1)
    return [
        ItemKNN(k=10),
        Popularity(),
        EASE(l2=5.0),
        EDLAE(l2=5.0),
        ALS(factors=4, iterations=5, random_state=0),
        ContentModel(features),
        Hybrid(
            {"knn": ItemKNN(k=10), "pop": Popularity(), "ease": EASE(l2=5.0)},
            {"knn": 1.0, "pop": 0.2, "ease": 0.7},
        ),
        Hybrid(
            {"knn": ItemKNN(k=10), "content": ContentModel(features)},
            {"knn": 1.0},
            cold_source="content",
            cold_weight=0.5,
        ),
    ]


@pytest.mark.parametrize("model", served_models(40), ids=lambda m: m.name)
def test_score_row_gives_the_scores_of_the_one_row_matrix(model: RecommenderModel) -> None:
    # Items 37-39 nobody touched: the hybrid's cold path scores them.
    untouched = sp.diags((np.arange(40) < 37).astype(np.float32))
    x = (interactions() @ untouched).tocsr()
    x.eliminate_zeros()
    model.fit(x)
    rng = np.random.default_rng(1)
    for _ in range(5):
        cols = np.sort(rng.choice(40, size=int(rng.integers(1, 12)), replace=False))
        vals = rng.random(len(cols)).astype(np.float32) + 0.1
        row = sp.csr_matrix((vals, cols, [0, len(cols)]), shape=(1, 40))
        np.testing.assert_allclose(
            model.score_row(cols, vals), model.score(row)[0], rtol=1e-6, atol=1e-7
        )
    # Twice in a row (the hybrid reuses what does not depend on the shopper): same answer.
    np.testing.assert_array_equal(model.score_row(cols, vals), model.score_row(cols, vals))


def test_score_row_checks_its_input() -> None:
    model = ItemKNN(k=5).fit(interactions())
    with pytest.raises(ValueError, match="ascending"):
        model.score_row(np.array([3, 1]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="ascending"):
        model.score_row(np.array([1, 40]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="NaN"):
        model.score_row(np.array([1]), np.array([np.nan]))
    with pytest.raises(RuntimeError, match="not fitted"):
        ItemKNN().score_row(np.array([1]), np.array([1.0]))


def shuffled_csr(n_rows: int = 50, n_cols: int = 30, seed: int = 0) -> sp.csr_matrix:
    """Random nonnegative CSR whose rows list their columns in no particular order (as a sparse
    product leaves them), with a few empty rows."""
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_rows, n_cols)) < 0.25) * rng.random((n_rows, n_cols))
    dense[[3, 17]] = 0.0
    m = sp.csr_matrix(dense.astype(np.float32))
    for r in range(n_rows):
        lo, hi = m.indptr[r], m.indptr[r + 1]
        perm = lo + rng.permutation(hi - lo)
        m.indices[lo:hi], m.data[lo:hi] = m.indices[perm], m.data[perm]
    m.has_sorted_indices = False
    return m


def test_row_dots_are_the_sparse_products() -> None:
    f = shuffled_csr()
    rng = np.random.default_rng(2)
    for _ in range(20):
        a = rng.integers(0, 50, int(rng.integers(1, 25)))
        b = rng.integers(0, 50, int(rng.integers(1, 25)))
        np.testing.assert_allclose(row_dots(f, a, b), (f[a] @ f[b].T).toarray(), rtol=1e-6)
    assert row_dots(f, [], [1, 2]).shape == (0, 2)
    assert not row_dots(f, [3], [17, 4]).any()  # empty rows have no overlap


def small_catalog() -> Catalog:
    records = []
    for i in range(30):
        records.append(
            {
                "id": f"p{i}",
                "title": ("华为", "小米", "索尼")[i % 3] + ("手机", "耳机")[i % 2] + f"{i}号",
                "category": ("手机", "耳机")[i % 2],
                "brand": ("华为", "小米", "索尼")[i % 3],
                "price": 100.0 + 37 * i,
                "list_price": 120.0 + 40 * i,
                "stock": i % 4,
                "created_at": 1.7e9 + 86400 * i,
                "attributes": {
                    "color": ("黑色", "深蓝色", "白")[i % 3],
                    "size": ["M", "XL"][: i % 3],
                },
                "tags": ["送男友"] if i % 5 == 0 else [],
            }
        )
    return Catalog.from_records(records)


def test_profile_and_query_scores_are_the_sparse_computation() -> None:
    content = ContentIndex(small_catalog())
    rows = [4, 1, 9, 22, 13]
    weights = [1.0, 3.5, 0.2, 6.0, 1e-3]
    w = sp.csr_matrix((np.float32(weights), ([0] * 5, rows)), shape=(1, 30))
    expected = normalize(w @ content.features, norm="l2", axis=1).toarray().ravel()
    np.testing.assert_allclose(content.profile_vector(rows, weights), expected, rtol=1e-6)
    np.testing.assert_allclose(
        content.profile_scores(rows, weights),
        content.features @ expected,
        rtol=1e-6,
    )
    for prefs in ({"category": "耳机", "brand": "索尼"}, {"query": "送男友 手机"}, {"brand": "无"}):
        vec = content.query_vector(prefs)
        want = content.features @ vec.toarray().ravel() if vec.nnz else np.zeros(30)
        np.testing.assert_allclose(content.query_scores(prefs), want, rtol=1e-6)


def test_catalog_membership_and_attribute_masks() -> None:
    cat = small_catalog()
    for wanted in (("华为",), ("小米", "索尼", "没有"), ()):
        np.testing.assert_array_equal(
            cat.isin("brand", wanted), np.isin(cat.brand, np.asarray(wanted, dtype=object))
        )
    np.testing.assert_array_equal(cat.isin("category", {"耳机"}), cat.category == "耳机")
    for column, wanted in (("colors", "蓝色"), ("colors", "白"), ("sizes", "M"), ("sizes", "S")):
        values = getattr(cat, column)
        expected = [any(wanted == v or wanted in v for v in vs) for vs in values]
        np.testing.assert_array_equal(cat.attr_mask(column, wanted), expected)


def test_top_pool_keeps_every_score_above_the_cut() -> None:
    rng = np.random.default_rng(3)
    for masked_share in (0.0, 0.5, 0.999):
        scores = np.round(rng.random(60_000), 3).astype(np.float32)  # many ties
        scores[rng.random(60_000) < masked_share] = -np.inf
        size = min(100, int(np.isfinite(scores).sum()))
        pool = _top_pool(scores, size)
        reference = np.argpartition(-scores, size - 1)[:size]
        assert len(pool) == len(set(pool.tolist())) == size
        # The same values; which of several equal scores at the cut is kept is arbitrary.
        np.testing.assert_array_equal(np.sort(scores[pool]), np.sort(scores[reference]))


def test_ranker_features_match_catalogue_wide_counts() -> None:
    cat = small_catalog()
    stats = ItemStats.from_counts(cat, np.arange(30, dtype=np.float64))
    items = np.array([3, 5, 3, 9, 5, 3, 12])
    types = ["view", "click", "add_to_cart", "purchase", "view", "view", "favorite"]
    dwell = np.array([10.0, np.nan, 0.0, 5.0, 2.5, 1.0, 0.0])
    ts = 1.7e9 + np.array([100.0, 50.0, 3000.0, 10.0, 7000.0, 20.0, 5.0])
    state = ShopperState(items, types, dwell, ts, True, 1.7e9 + 86400.0)
    cand = np.array([3, 4, 5, 9, 12, 29])
    x = build_features(cat, stats, state, cand, np.zeros(6), np.zeros(6))
    kinds = np.asarray(types, dtype=object)
    views = np.bincount(items[(kinds == "view") | (kinds == "click")], minlength=30)
    carts = np.bincount(items[kinds == "add_to_cart"], minlength=30)
    bought = np.bincount(items[kinds == "purchase"], minlength=30)
    spent = np.bincount(items, weights=np.nan_to_num(dwell), minlength=30)
    last = np.full(30, -np.inf)
    np.maximum.at(last, items, ts)
    since = np.clip((state.now - last[cand]) / 86400.0, 0, None)
    np.testing.assert_array_equal(x[:, 5], cat.discount()[cand])
    np.testing.assert_array_equal(x[:, 8], np.log1p(views[cand]))
    np.testing.assert_array_equal(x[:, 9], np.log1p(spent[cand]))
    np.testing.assert_array_equal(x[:, 10], np.log1p(carts[cand]))
    np.testing.assert_array_equal(x[:, 11], (bought[cand] > 0).astype(float))
    np.testing.assert_array_equal(
        x[:, 12], np.where(np.isfinite(last[cand]), np.exp(-since / 3.0), 0.0)
    )


def test_one_query_reads_events_cart_and_profile(engine: Engine) -> None:
    """On SQLite and PostgreSQL: newest events first, at most RECENT_EVENTS of them, the cart,
    the profile only with consent, and nothing for a shopper the shop does not know."""
    factory = make_session_factory(engine)
    start = datetime(2026, 1, 1)
    with session_scope(factory) as s:
        for i in range(6):
            s.add(
                Product(
                    id=f"p{i}",
                    title=f"华为手机{i}",
                    category="手机",
                    brand="华为",
                    price=100 + i,
                    list_price=120 + i,
                    attributes={},
                    tags=[],
                    stock=5,
                    created_at=start,
                )
            )
        s.flush()
        repo.ensure_shopper(s, "fan", consent=True, age_band="25-34", gender="f")
        for n in range(RECENT_EVENTS + 5):
            repo.record_event(
                s,
                "fan",
                ("view", "click", "purchase")[n % 3],
                product_id=f"p{n % 6}",
                dwell_seconds=float(n % 7) if n % 2 else None,
                ts=start + timedelta(minutes=n),
            )
        repo.record_event(s, "fan", "search", query="手机", ts=start + timedelta(days=9))
        repo.cart_add(s, "fan", "p4")
        repo.cart_add(s, "fan", "p2")
        repo.ensure_shopper(s, "private", consent=False)
    svc = RecommenderService(factory, background_refresh=False)
    snapshot = svc._state
    fan = svc._shopper(snapshot, "fan")
    index = snapshot.catalog.items.index
    assert fan.known and fan.consent
    assert fan.profile == {"age_band": "25-34", "gender": "f", "region": None, "occupation": None}
    assert len(fan.events) == RECENT_EVENTS
    # The two cart adds happened now, after every dated event; then the dated ones, newest first.
    assert [(e[0], e[1]) for e in fan.events[:2]] == [
        (index["p2"], "add_to_cart"),
        (index["p4"], "add_to_cart"),
    ]
    newest = RECENT_EVENTS + 4
    assert fan.events[2][:2] == (index[f"p{newest % 6}"], ("view", "click", "purchase")[newest % 3])
    assert fan.events[2][2] == 0.0  # no dwell recorded (even n) reads as 0.0
    assert fan.events[5][2] == float((newest - 3) % 7)
    assert [e[3] for e in fan.events] == sorted((e[3] for e in fan.events), reverse=True)
    assert fan.cart == [index["p2"], index["p4"]]
    assert fan.purchased == [e[0] for e in fan.events if e[1] == "purchase"]
    private = svc._shopper(snapshot, "private")
    assert private.known and not private.consent
    assert (private.profile, private.events, private.cart) == ({}, [], [])
    assert not svc._shopper(snapshot, "stranger").known
    page = svc.recommend("fan", 3)
    assert page.items and index["p4"] not in {index[r.item_id] for r in page.items}
