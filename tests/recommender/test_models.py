"""Every model passes the same contract on a dataset whose right answer is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.base import RecommenderModel
from recommender.models import ALS, EASE, ContentModel, Hybrid, ItemKNN, Popularity, UserPearsonCF
from recommender.models.user_cf import pearson_rows


def two_tastes(n_users: int = 40) -> sp.csr_matrix:
    """Items 0-4 are one taste, 5-9 another; each shopper holds 4 of their taste's 5 items.

    The right answer for a shopper is the one item of their own taste they have not touched.
    """
    rows, cols = [], []
    for u in range(n_users):
        base = 0 if u % 2 == 0 else 5
        missing = base + (u // 2) % 5
        for i in range(base, base + 5):
            if i != missing:
                rows.append(u)
                cols.append(i)
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, 10))


def graded(x: sp.csr_matrix) -> sp.csr_matrix:
    """The same pattern with graded strengths (Pearson needs variance on the overlap)."""
    y = x.copy()
    y.data = (1.0 + (np.arange(y.nnz) * 7 % 5)).astype(np.float32)
    return y


FEATURES = sp.csr_matrix(np.repeat(np.eye(2, dtype=np.float32), 5, axis=0))


def make_models() -> list[RecommenderModel]:
    return [
        ItemKNN(k=20),
        UserPearsonCF(k=10, min_overlap=2),
        EASE(l2=1.0),
        ALS(factors=4, regularization=0.1, alpha=5.0, iterations=15, random_state=0),
        ContentModel(FEATURES),
        Hybrid({"ease": EASE(l2=1.0), "knn": ItemKNN(k=20)}, {"ease": 1.0, "knn": 0.5}),
    ]


@pytest.fixture(params=make_models(), ids=lambda m: f"{m.name}-{id(m) % 1000}")
def model(request: pytest.FixtureRequest) -> RecommenderModel:
    return request.param


def test_recommends_the_missing_item_of_the_shoppers_taste(model: RecommenderModel) -> None:
    x = two_tastes()
    # Mean-centred methods need graded strengths: on 0/1 data every centred value is zero.
    centred = isinstance(model, UserPearsonCF) or getattr(model, "adjusted", False)
    data = graded(x) if centred else x
    model.fit(data)
    for u in range(x.shape[0]):
        ids, scores = model.recommend(data[u], k=1)
        base = 0 if u % 2 == 0 else 5
        assert base <= ids[0] < base + 5, (u, ids)
        assert ids[0] not in data[u].indices  # already-liked items are filtered


def test_batch_equals_one_at_a_time_and_scores_sorted(model: RecommenderModel) -> None:
    x = graded(two_tastes())
    model.fit(x)
    ids, scores = model.recommend(x[:6], k=3)
    for u in range(6):
        one_ids, one_scores = model.recommend(x[u], k=3)
        np.testing.assert_array_equal(ids[u][: len(one_ids)], one_ids)
        np.testing.assert_allclose(scores[u][: len(one_scores)], one_scores, rtol=1e-4, atol=1e-5)
        assert np.all(np.diff(one_scores) <= 1e-6)


def test_save_load_roundtrip(model: RecommenderModel, tmp_path: Path) -> None:
    x = graded(two_tastes())
    model.fit(x)
    path = model.save(tmp_path / "m.npz")
    loaded = RecommenderModel.load(path)
    assert type(loaded) is type(model)
    a = model.recommend(x[:5], k=4)
    b = loaded.recommend(x[:5], k=4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-5)
    # The files are plain npz: loading must work with pickle disabled.
    with np.load(path, allow_pickle=False) as npz:
        assert "__meta__" in npz.files


def test_rejects_non_csr_input(model: RecommenderModel) -> None:
    x = two_tastes()
    with pytest.raises(ValueError, match="CSR"):
        model.fit(x.tocoo())
    with pytest.raises(ValueError):
        model.fit(x.toarray())  # type: ignore[arg-type]
    model.fit(x)
    with pytest.raises(ValueError, match="item columns"):
        model.recommend(sp.csr_matrix((1, 3), dtype=np.float32))


def test_unfitted_model_says_so() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        EASE().recommend(two_tastes()[:1])


def test_similar_items_stay_in_their_taste() -> None:
    x = two_tastes()
    for m in (ItemKNN(k=20), EASE(l2=1.0), ContentModel(FEATURES)):
        m.fit(x)
        ids, _ = m.similar_items(2, k=3)
        assert set(ids.tolist()) <= {0, 1, 3, 4}, m.name


def test_popularity_ranks_by_shopper_count() -> None:
    x = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1]], np.float32))
    ids, _ = Popularity().fit(x).recommend(sp.csr_matrix((1, 3), dtype=np.float32), k=3)
    assert ids.tolist() == [0, 1, 2]


# --- Pearson: exactly the classic formula --------------------------------------------------------


def brute_force_pearson(r: np.ndarray, gamma: float, min_overlap: int) -> np.ndarray:
    n = r.shape[0]
    out = np.zeros((n, n))
    for u in range(n):
        for v in range(n):
            common = (r[u] != 0) & (r[v] != 0)
            m = common.sum()
            if m < min_overlap:
                continue
            a, b = r[u, common], r[v, common]
            da, db = a - a.mean(), b - b.mean()
            den = np.sqrt((da**2).sum() * (db**2).sum())
            if den <= 1e-12:
                continue
            out[u, v] = (da * db).sum() / den * min(m, gamma) / gamma
    return out


def test_pearson_matches_brute_force_reference() -> None:
    rng = np.random.default_rng(3)
    r = rng.integers(1, 6, (12, 15)).astype(np.float64)
    r[rng.random(r.shape) < 0.45] = 0
    for gamma in (3.0, 50.0):
        expected = brute_force_pearson(r, gamma, 2)
        got = pearson_rows(sp.csr_matrix(r), sp.csr_matrix(r), gamma=gamma, min_overlap=2).toarray()
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_pearson_significance_weighting_shrinks_small_overlaps() -> None:
    r = sp.csr_matrix(np.array([[5, 3, 1, 0], [4, 2, 1, 0]], np.float64))
    full = pearson_rows(r, r, gamma=1.0).toarray()[0, 1]
    shrunk = pearson_rows(r, r, gamma=30.0).toarray()[0, 1]
    assert full > 0.9
    assert shrunk == pytest.approx(full * 3 / 30, rel=1e-5)


def test_resnick_prediction_follows_neighbours() -> None:
    # Shopper 0 agrees with 1 and 2, who both rate item 3 above their mean.
    r = np.array([[5, 1, 3, 0], [5, 1, 3, 5], [4, 1, 2, 4], [1, 5, 3, 1]], np.float32)
    m = UserPearsonCF(k=5, gamma=1.0).fit(sp.csr_matrix(r))
    pred = m.predict(sp.csr_matrix(r[:1]), np.array([3]))[0, 0]
    assert pred > 3.0  # own mean is 3; like-minded neighbours liked item 3


def wide_tastes_with_new_items() -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Items 0-9 are taste A, 10-19 taste B; each shopper holds 5 of their taste's 10 items.
    Items 20 (A) and 21 (B) have just arrived: no interactions, only content."""
    rng = np.random.default_rng(0)
    rows, cols = [], []
    for u in range(40):
        base = 0 if u % 2 == 0 else 10
        for i in rng.choice(10, 5, replace=False):
            rows.append(u)
            cols.append(base + int(i))
    x = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(40, 22))
    taste = np.vstack([np.repeat(np.eye(2), 10, axis=0), np.eye(2)])
    return x, sp.csr_matrix(taste, dtype=np.float32)


def slot_hybrid(feats: sp.csr_matrix, *, l2: float, cold_weight: float, slots: int = 0) -> Hybrid:
    """EASE blended with a content cold path: the hybrid the new-arrival tests build."""
    model = Hybrid(
        {"ease": EASE(l2=l2), "content": ContentModel(feats)},
        {"ease": 1.0},
        cold_source="content",
        cold_weight=cold_weight,
        new_item_slots=slots,
    )
    return model


def test_hybrid_keeps_a_place_for_the_new_item_of_the_shoppers_taste() -> None:
    """With one new-arrival slot every shopper with history sees the new item of their own taste
    in the page's last place, never the other taste's; the rest of the page is the CF ranking."""
    x, feats = wide_tastes_with_new_items()

    def make(slots: int) -> Hybrid:
        model = slot_hybrid(feats, l2=50.0, cold_weight=0.01, slots=slots)
        model.fit(x)
        return model

    with_slot, without = make(1), make(0)
    for u in range(x.shape[0]):
        own, other = (20, 21) if u % 2 == 0 else (21, 20)
        ids, _ = with_slot.recommend(x[u], k=3)
        plain, _ = without.recommend(x[u], k=3)
        assert ids[-1] == own and other not in ids, (u, ids)
        assert not {20, 21} & set(plain.tolist())  # the blend alone keeps new items off the page
        np.testing.assert_array_equal(ids[:2], plain[:2])
    # A batch gets the same pages as one shopper at a time.
    batch, _ = with_slot.recommend(x[:6], k=3)
    for u in range(6):
        np.testing.assert_array_equal(batch[u], with_slot.recommend(x[u], k=3)[0])
    # No history, no content profile: a new shopper's page is left to popularity.
    ids, _ = with_slot.recommend(sp.csr_matrix((1, 22), dtype=np.float32), k=3)
    assert not {20, 21} & set(ids.tolist())


def test_new_item_slots_survive_save_and_load(tmp_path: Path) -> None:
    x, feats = wide_tastes_with_new_items()
    model = slot_hybrid(feats, l2=1.0, cold_weight=0.1, slots=2)
    model.fit(x)
    loaded = RecommenderModel.load(model.save(tmp_path / "h.npz"))
    assert getattr(loaded, "new_item_slots", None) == 2
    np.testing.assert_array_equal(loaded.recommend(x[:4], k=3)[0], model.recommend(x[:4], k=3)[0])


def test_new_item_slots_are_tuned_on_what_validation_shoppers_wanted() -> None:
    from recommender.base import top_k_rows
    from recommender.evaluation import tune_new_item_slots

    x, feats = wide_tastes_with_new_items()
    hybrid = slot_hybrid(feats, l2=50.0, cold_weight=0.01)
    hybrid.fit(x)
    users = np.arange(x.shape[0])
    scores = hybrid.score(x)
    scores[x.nonzero()] = -np.inf
    scores[:, 20:] = -np.inf
    warm, _ = top_k_rows(scores, 2)  # each shopper's two best unseen items of their taste
    own_new = np.where(users % 2 == 0, 20, 21)

    def truth(cols: np.ndarray) -> sp.csr_matrix:
        rows = np.repeat(users, cols.shape[1])
        return sp.csr_matrix((np.ones(rows.size, np.float32), (rows, cols.ravel())), shape=x.shape)

    # Validation shoppers took both warm items and their taste's new arrival: one slot wins, a
    # second (the other taste's new item, pushing out a wanted warm item) costs too much.
    wanted = truth(np.column_stack([warm, own_new]))
    assert tune_new_item_slots(hybrid, x, wanted, 3, users) == 1
    # Nobody touched a new item during validation: no evidence, no share.
    assert tune_new_item_slots(hybrid, x, truth(warm), 3, users) == 0
